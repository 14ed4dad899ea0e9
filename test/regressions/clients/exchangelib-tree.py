"""exchangelib walks a mailbox of the lab's EWS double as it walks Exchange 2007 SP1's: every distinguished
folder, root.walk() and tree() (GetFolder of the well-known folders, then FindFolder Deep), an unread
filter (an IsRead restriction), marking an item read (UpdateItem), and a calendar view (CalendarView)."""
import json
import sys
import warnings

from exchangelib import DELEGATE, NTLM, Account, Configuration, Credentials, EWSDateTime, EWSTimeZone
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter

warnings.filterwarnings('ignore')
BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter  # the lab CA is the lab's own
endpoint, user, password, address = sys.argv[1:5]
config = Configuration(service_endpoint=endpoint, credentials=Credentials(user, password), auth_type=NTLM)
account = Account(address, config=config, autodiscover=False, access_type=DELEGATE)
utc = EWSTimeZone('UTC')
DISTINGUISHED = ['root', 'msg_folder_root', 'calendar', 'contacts', 'trash', 'drafts', 'inbox', 'journal',
                 'junk', 'notes', 'outbox', 'sent', 'tasks', 'search_folders', 'voice_mail']
distinguished = {name: getattr(account, name).name for name in DISTINGUISHED}
unread_before = account.inbox.filter(is_read=False).count()
first = account.inbox.filter(is_read=False).order_by('-datetime_received')[0]
first.is_read = True
first.save(update_fields=['is_read'])
view = account.calendar.view(
    start=EWSDateTime(2026, 11, 25, 0, 0, tzinfo=utc), end=EWSDateTime(2026, 11, 27, 0, 0, tzinfo=utc))
print(json.dumps({
    'distinguished': distinguished,
    'walk': sorted(f.name for f in account.root.walk()),
    'tree': account.root.tree(),
    'unread': [unread_before, account.inbox.filter(is_read=False).count()],
    'read': account.inbox.filter(is_read=True).count(),
    'calendar': [[i.subject, i.start.astimezone(utc).isoformat(), i.location] for i in view],
}))
