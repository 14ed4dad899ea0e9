export { esc } from './escape.js'

/**
 * What the lab's pages share in the browser: the admin API with the token the page was given, and HTML
 * escaping. Typed like the rest of the lab (this folder's tsconfig adds the DOM); built by `npm run build`
 * into dist/lab/admin/browser/ and served as files under /assets/.
 */

/** The bearer token a page was opened with (`#token=…`), kept for the tab. */
export function pageToken(remember: boolean): string {
  const given = new URLSearchParams(location.hash.slice(1)).get('token') ?? ''
  const token = given || (remember ? (sessionStorage.getItem('labToken') ?? '') : '')
  if (remember && token) sessionStorage.setItem('labToken', token)
  return token
}

/** A call of the admin API: its JSON (or text); an error status throws with the API's own words. */
export function apiWith(token: string) {
  return async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const headers = { ...(init.headers as Record<string, string> | undefined), ...auth(token) }
    const res = await fetch(path, { ...init, headers })
    const json = res.headers.get('content-type')?.includes('json') === true
    const body: unknown = json ? await res.json() : await res.text()
    if (!res.ok) throw new Error(errorOf(body) ?? String(res.status))
    return body as T
  }
}

/** A JSON body for `api`. */
export function jsonBody(value: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) }
}

export function auth(token: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {}
}

function errorOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : undefined
}

/** An element of the page by id; a page without it is a bug of ours, said at once. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id)
  if (!e) throw new Error(`the page has no #${id}`)
  return e as T
}

/** Saves what `path` answers as a file, under the name its Content-Disposition gives. */
export async function download(token: string, path: string): Promise<{ name: string; res: Response }> {
  const res = await fetch(path, { headers: auth(token) })
  if (!res.ok) throw new Error(errorOf(await res.json().catch(() => ({}))) ?? String(res.status))
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download'
  const a = document.createElement('a')
  a.href = URL.createObjectURL(await res.blob())
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
  return { name, res }
}

/** The words of an error for a status line. */
export const why = (e: unknown): string => (e instanceof Error ? e.message : String(e))
