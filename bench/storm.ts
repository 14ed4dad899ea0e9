import { eachLimited } from '../core/limited.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LabClient } from '../lab/client/index.js'
import { runPhone, type PhoneReport } from '../phone/emulator.js'
import { PhoneNet } from '../phone/net.js'
import { cpuSeconds, crowdPhone, crowdScenario, rssMb, startLabProcess } from './process.js'
import { result } from './report.js'

/**
 * A sign-in storm: N emulated CX700s (distinct MACs, factory-fresh on 3.5.6907.35, so no firmware
 * download) boot against one lab process at once, `concurrency` at a time, each going through DHCP, DNS,
 * NTP, LDAP, TLS, REGISTER with NTLM, provisioning, Autodiscover and EWS. Reports phones signed in per
 * second, failures (must be 0) and the lab's peak RSS. No peer exists for this.
 */

export async function storm(phones = 1000, concurrency = 50): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-storm-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  try {
    const file = crowdScenario(base, 'bench-storm')
    lab = await startLabProcess(join(base, 'state'), [file])
    const endpoints = (await new LabClient(lab.adminUrl).endpoints()).endpoints
    const net = new PhoneNet(endpoints)
    const reports: PhoneReport[] = []
    const labCpu0 = cpuSeconds(lab.child.pid!)
    const phonesCpu0 = process.cpuUsage()
    const t0 = performance.now()
    await eachLimited([...Array(phones).keys()], concurrency, async (i) => {
      reports.push(await runPhone(crowdPhone(net, i + 1)))
    })
    const seconds = (performance.now() - t0) / 1000
    // Where the two cores went: the lab's process, and this one (the emulated phones).
    const labCpu = cpuSeconds(lab.child.pid!) - labCpu0
    const used = process.cpuUsage(phonesCpu0)
    const phonesCpu = (used.user + used.system) / 1e6
    const failures = reports.filter((r) => r.endState !== 'signed-in')
    const ms = reports.map((r) => r.ms).sort((a, b) => a - b)
    console.log(`${phones} phones, ${concurrency} at a time: ${seconds.toFixed(1)} s`)
    console.log(
      `sign-in time per phone: median ${ms[Math.floor(ms.length / 2)]} ms, p99 ${ms[Math.floor(ms.length * 0.99)]} ms`,
    )
    for (const f of failures.slice(0, 5))
      console.log(
        `failed ${f.mac}: ${f.endState} at ${f.steps.at(-1)?.step ?? '?'}: ${f.steps.at(-1)?.detail ?? ''}`,
      )
    result('storm', {
      lab: phones / seconds,
      peer: undefined,
      ratio: undefined,
      unit: 'phones/s',
      failures: failures.length,
      rss_mb: rssMb(lab.child.pid!, 'VmHWM'),
      lab_cpu_s: labCpu,
      phones_cpu_s: phonesCpu,
      phones,
      concurrency,
    })
  } finally {
    if (lab) await lab.stop()
    rmSync(base, { recursive: true, force: true })
  }
}
