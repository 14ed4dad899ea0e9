import type { Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { manualClock } from '../clock.js'
import { testLogger } from '../logger.js'
import { UdpServer } from '../udp-server.js'
import type { LabDeps } from '../server.js'
import type { BaseEvents, EventOf } from './events.js'
import { Journal } from './journal.js'

/* A server's writes are checked against its event map at compile time (`tsc --noEmit` runs on tests). */
interface ToyEvents extends BaseEvents<'toy'> {
  readonly 'toy:request': { readonly name: string; readonly bytes: number }
}

class Toy extends UdpServer<undefined, LabDeps, ToyEvents> {
  readonly name = 'toy'
  constructor(deps: LabDeps) {
    super([], deps)
  }
  configure(): void {}
  protected async onDatagram(): Promise<void> {}
  write(): void {
    this.record('toy:request', { summary: 'asked for x', detail: { name: 'x', bytes: 3 } })
  }
  fail(): void {
    this.failed(new Error('a bug of ours'))
  }
  misspelt(socket: Socket): void {
    // @ts-expect-error a kind the server does not write
    this.record('toy:reqeust', { summary: '', detail: { name: 'x', bytes: 3 } })
    // @ts-expect-error a detail field the kind does not have
    this.record('toy:request', { summary: '', detail: { name: 'x', bytes: 3, nmae: 'x' } })
    // @ts-expect-error a detail field of the wrong type
    this.record('toy:request', { summary: '', detail: { name: 'x', bytes: '3' } })
    // @ts-expect-error an answer sent must be one of the server's kinds too
    this.sendJournaled(socket, new Uint8Array(1), { address: '127.0.0.1', port: 1, transport: 'udp' }, 'x', {
      summary: '',
      detail: {},
    })
  }
}

describe('typed journal writes', () => {
  it('journal what the server wrote, as its classifier reads it', () => {
    const journal = new Journal({ clock: manualClock(Date.now()) })
    const toy = new Toy({ journal, logger: testLogger() } as unknown as LabDeps)
    toy.write()
    const [e] = journal.query({ server: 'toy' }) as EventOf<ToyEvents>[]
    expect(e).toMatchObject({ server: 'toy', kind: 'toy:request', detail: { name: 'x', bytes: 3 } })
    if (e?.kind === 'toy:request') expect(e.detail.bytes).toBe(3)
  })

  it('journal what the server base writes as every server map declares it (BaseEvents)', () => {
    const journal = new Journal({ clock: manualClock(Date.now()) })
    const toy = new Toy({ journal, logger: testLogger() } as unknown as LabDeps)
    toy.fail()
    const [e] = journal.query({ server: 'toy' }) as EventOf<ToyEvents>[]
    expect(e?.kind).toBe('toy:failed')
    if (e?.kind === 'toy:failed') expect(e.detail.error).toBe('a bug of ours')
  })
})
