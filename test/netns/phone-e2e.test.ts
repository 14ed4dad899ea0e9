import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import type { PhoneReport } from '../../phone/emulator.js'
import { createLinkedNetns, type LinkedNetns } from '../helpers/netns.js'
import { CLI, spawnLab } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ip = tool('ip', 'iproute2')
const tshark = tool('tshark', 'tshark')
const MAC = '00:04:f2:01:02:03'
const skip = rootSkip() ?? ip.skip

/**
 * The emulated CX700 end to end on a real link: the lab in one namespace of the test's own on standard
 * ports (DHCP confined to its end of a veth pair), the phone in the other with no address, booting with
 * broadcast DHCP and then finding everything by the DNS the lease names — as a phone on a lab LAN.
 */
describe.skipIf(skip)(
  `the emulator with real broadcast DHCP in network namespaces (${skip ?? 'root'})`,
  () => {
    let net: LinkedNetns
    let dir: string

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cx700-phone-e2e-'))
      net = await createLinkedNetns('10.50.0.1/24', '00:04:f2:01:02:03')
    })
    afterAll(async () => {
      await net?.[Symbol.asyncDispose]()
      rmSync(dir, { recursive: true, force: true })
    })

    /** `cx700-lab phone --direct` in the client namespace, on its link, with its state kept in `dir`. */
    const bootPhone = () =>
      net.client.exec(
        [
          process.execPath,
          CLI,
          'phone',
          '--direct',
          '--interface',
          net.clientIf,
          '--mac',
          '00:04:f2:01:02:03',
          '--state',
          join(dir, 'phones'),
          '--json',
        ],
        { timeoutMs: 60_000 },
      )

    it('boots, signs in and syncs Exchange on the default scenario', async () => {
      const file = join(dir, 'e2e.yaml')
      writeFileSync(
        file,
        `extends: ${JSON.stringify(join(packageRoot(), 'scenarios', 'default.yaml'))}\nname: e2e\n` +
          `servers:\n  dhcp: { interface: ${net.labIf}, rogueWaitMs: 300 }\n`,
      )
      await using lab = await spawnLab(
        [file, '--mode', 'netns', '--admin', '127.0.0.1:0', '--state', join(dir, 'state')],
        {
          spawner: (argv) => net.lab.spawn(argv),
        },
      )
      expect(lab.ready.endpoints.find((e) => e.name === 'dhcp')?.port).toBe(67)
      const { code, stdout, stderr } = await bootPhone()
      const report = JSON.parse(stdout) as PhoneReport
      expect(
        report.endState,
        `${stderr}\n${report.steps.map((s) => `${s.step} ${s.ok} ${s.detail}`).join('\n')}`,
      ).toBe('signed-in')
      expect(code).toBe(0)
      expect(report.learnt.address).toMatch(/^10\.50\.0\.\d+$/)
      expect(report.status).toEqual([
        'Locating Domain Controller',
        'Downloading Certificate',
        'Installing Certificate',
        'Connecting to Office Communications Server',
      ])
      expect(report.learnt.mailbox).toEqual({ contacts: 1, voicemail: 1, missedCalls: 0 })

      // The emulator as the "hardware" phone: judged only from what the servers journaled, and its
      // capture (real addresses and ports on a real link) read by tshark with the embedded TLS secrets.
      const story = join(packageRoot(), 'scenarios', 'default.yaml')
      const judged = await net.lab.exec(
        [process.execPath, CLI, 'verify', story, '--device', MAC, '--journal', lab.ready.journal],
        { timeoutMs: 30_000 },
      )
      expect(judged.code, judged.stdout + judged.stderr).toBe(0)
      expect(judged.stdout).toMatch(/default\s+pass\s+signed-in/)
      const pcap = join(dir, 'hardware.pcapng')
      const saved = await net.lab.exec(
        [process.execPath, CLI, 'capture', '--device', MAC, '--admin', lab.ready.adminUrl, '-o', pcap],
        { timeoutMs: 30_000 },
      )
      expect(saved.code, saved.stderr).toBe(0)
      if (tshark.path) {
        const read = await net.lab.exec(
          [
            tshark.path,
            '-n',
            '-r',
            pcap,
            '-Y',
            'sip.Method == "REGISTER" || dhcp',
            '-T',
            'fields',
            '-e',
            'ip.src',
            '-e',
            'udp.srcport',
            '-e',
            'sip.Method',
          ],
          { timeoutMs: 60_000 },
        )
        expect(read.stdout).toMatch(/^10\.50\.0\.\d+\t\tREGISTER$/m)
        expect(read.stdout).toMatch(/^0\.0\.0\.0\t68\t$/m)
      }
      // The phone remembers: on the next boot it has its roots and signs in without downloading them.
      const again = await bootPhone()
      const second = JSON.parse(again.stdout) as PhoneReport
      expect(second.endState).toBe('signed-in')
      expect(second.status).not.toContain('Downloading Certificate')
    })
  },
)
