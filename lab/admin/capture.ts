import { capturePcapng } from '../../core/capture/export.js'
import type { CaptureRecord, CaptureStore } from '../../core/capture/store.js'
import { normalizeMac } from '../../core/journal/devices.js'
import type { BootStage } from '../../core/journal/events.js'
import type { JournalEvent } from '../../core/journal/journal.js'
import type { BoundPort } from '../../core/server.js'
import { classify } from '../classify.js'

/** What a capture request names: a device (its MAC, or an address the lab never tied to a MAC), a stage. */
export interface CaptureQuery {
  readonly device: string
  readonly stage?: BootStage
}

/** The key the capture store files a device under. */
export function captureKey(device: string): string {
  return /^([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i.test(device) ? normalizeMac(device) : device.toLowerCase()
}

const flowKey = (server: string, address: string, port: number): string => `${server}|${address}|${port}`

/** What the journal says of one captured datagram or connection: its boot stages, the faults applied to it. */
export interface FlowNotes {
  readonly stages: readonly BootStage[]
  readonly faults: readonly string[]
}

/**
 * Reads the journal for each captured datagram or connection: the stages of the events the same server
 * journaled for the same peer (address and port), and the faults applied there; for a datagram no event names
 * (a DHCP broadcast), the stage that server's events of this device are in, when there is one.
 */
export function flowNotes(
  events: readonly JournalEvent[],
  mac: string | undefined,
): (record: CaptureRecord) => FlowNotes {
  const byFlow = new Map<string, { stages: Set<BootStage>; faults: Set<string> }>()
  const byServer = new Map<string, Set<BootStage>>()
  for (const e of events) {
    const c = classify(e)
    if (!c) continue
    if (e.peer) {
      const k = flowKey(e.server, e.peer.address, e.peer.port)
      const notes = byFlow.get(k) ?? { stages: new Set(), faults: new Set() }
      notes.stages.add(c.stage)
      if (typeof e.detail.fault === 'string') notes.faults.add(e.detail.fault)
      byFlow.set(k, notes)
    }
    if (mac !== undefined && e.device?.mac === mac) {
      const set = byServer.get(e.server) ?? new Set()
      byServer.set(e.server, set.add(c.stage))
    }
  }
  return (record) => {
    const found = byFlow.get(flowKey(record.server, record.remote.address, record.remote.port))
    if (found) return { stages: [...found.stages], faults: [...found.faults] }
    const server = byServer.get(record.server)
    return { stages: server?.size === 1 ? [...server] : [], faults: [] }
  }
}

/** A device's capture as a pcapng file (all of it, or one stage), with the stage and server as comments. */
export function deviceCapture(
  store: CaptureStore,
  events: readonly JournalEvent[],
  query: CaptureQuery,
  endpoints: readonly BoundPort[] = [],
): { bytes: Uint8Array; frames: number; withheld: number } | undefined {
  const key = captureKey(query.device)
  const all = store.records(key)
  if (all.length === 0) return undefined
  const mac = store.macOf(key)
  const notes = flowNotes(events, mac)
  const records = query.stage === undefined ? all : all.filter((r) => notes(r).stages.includes(query.stage!))
  const input = {
    records,
    ...(mac ? { mac } : {}),
    comment: (r: CaptureRecord) => {
      const n = notes(r)
      const faults = n.faults.map((f) => `fault ${f}`)
      return [n.stages.join(', ') || 'no stage', r.server, ...faults].join(' · ')
    },
    standardPort: (transport: 'udp' | 'tcp', port: number) =>
      endpoints.find((e) => e.transport === transport && e.port === port)?.standardPort,
    name: `cx700-lab ${key}${query.stage ? ` ${query.stage}` : ''}`,
  }
  return capturePcapng(input)
}
