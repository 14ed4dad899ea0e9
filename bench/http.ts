import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { freePort } from '../core/net/tcp.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { certificatePem } from '../certs/export.js'
import { LabClient } from '../lab/client/index.js'
import { packageRoot } from '../lab/paths.js'
import { loadScenario } from '../lab/scenario/load.js'
import { median, result } from './report.js'
import { labPki, startLabProcess, stopProcess } from './process.js'

/**
 * Requests per second for the Exchange doubles (POX Autodiscover and EWS FindItem, journal on) against a
 * bare fastify hello-world and a Mountebank imposter serving the same Autodiscover answer, all over HTTPS
 * with the same certificate and the same keep-alive load (8 connections), in one run, alternating rounds.
 */

const POX =
  '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">' +
  '<Request><EMailAddress>alice@contoso.test</EMailAddress><AcceptableResponseSchema>' +
  'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>' +
  '</Request></Autodiscover>'
const FIND =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" ' +
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header>' +
  '<t:RequestServerVersion Version="Exchange2007_SP1"/></soap:Header><soap:Body><m:FindItem Traversal="Shallow">' +
  '<m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>' +
  '<m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>' +
  '<m:ParentFolderIds><t:DistinguishedFolderId Id="voicemail"/></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>'
const BASIC = `Basic ${Buffer.from('alice@contoso.test:Passw0rd!').toString('base64')}`

interface Target {
  readonly port: number
  readonly host: string
  readonly path: string
  readonly body: string
  /** A word the answer must contain. */
  readonly expect: string
}

/** One POST of the target's request; its answer's text, or an error unless 200. */
function post(target: Target, ca: string, agent?: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        servername: target.host,
        method: 'POST',
        path: target.path,
        ...(agent ? { agent } : { ca, ciphers: 'DEFAULT:@SECLEVEL=0' }),
        headers: {
          host: target.host,
          authorization: BASIC,
          'content-type': 'text/xml; charset=utf-8',
          'content-length': Buffer.byteLength(target.body),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (text += d))
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${target.port}: ${res.statusCode}`)),
        )
      },
    )
    req.on('error', reject)
    req.end(target.body)
  })
}

/** `clients` keep-alive connections posting the same request for `seconds`; requests per second. */
async function round(target: Target, ca: string, seconds: number, clients = 8): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients, ca, ciphers: 'DEFAULT:@SECLEVEL=0' })
  const deadline = performance.now() + seconds * 1000
  let done = 0
  const t0 = performance.now()
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < deadline) {
          const text = await post(target, ca, agent)
          if (!text.includes(target.expect)) throw new Error(`port ${target.port} answered wrongly`)
          done++
        }
      }),
    )
  } finally {
    agent.destroy()
  }
  return done / ((performance.now() - t0) / 1000)
}

/** A bare fastify 5 (the lab's own HTTP framework) answering every POST with the same short text. */
function startFastify(port: number, certFile: string, keyFile: string): ChildProcess {
  const script = `
    const { readFileSync } = require('node:fs')
    const app = require('fastify')({ logger: false, https: {
      cert: readFileSync(${JSON.stringify(certFile)}), key: readFileSync(${JSON.stringify(keyFile)}),
      ciphers: 'DEFAULT:@SECLEVEL=0' } })
    app.addContentTypeParser('*', { parseAs: 'string' }, (_r, b, done) => done(null, b))
    app.post('/*', async () => 'hello world')
    app.listen({ host: '127.0.0.1', port: ${port} }).then(() => console.log('ready'))`
  return spawn(process.execPath, ['-e', script], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'inherit'] })
}

async function ready(child: ChildProcess, word: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes(word)) resolve()
    })
    child.once('exit', () => reject(new Error('the peer exited before it was ready')))
  })
}

/** Mountebank with one HTTPS imposter answering the Autodiscover POST with the lab's own answer. */
async function startMountebank(
  apiPort: number,
  port: number,
  cert: string,
  key: string,
  answer: string,
): Promise<ChildProcess> {
  const child = spawn(
    join(packageRoot(), 'node_modules', '.bin', 'mb'),
    ['start', '--port', String(apiPort), '--nologfile', '--loglevel', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${apiPort}/imposters`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          protocol: 'https',
          port,
          host: '127.0.0.1',
          cert,
          key,
          stubs: [
            {
              predicates: [{ equals: { method: 'POST', path: '/autodiscover/autodiscover.xml' } }],
              responses: [{ is: { statusCode: 200, headers: { 'Content-Type': 'text/xml' }, body: answer } }],
            },
          ],
        }),
      })
      if (res.status === 201) return child
      throw new Error(`Mountebank refused the imposter: ${res.status} ${await res.text()}`)
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('Mountebank refused')) {
        await stopProcess(child)
        throw err
      }
      // not up yet
    }
    await sleep(50)
  }
  await stopProcess(child)
  throw new Error('Mountebank did not start')
}

/** The lab on the default scenario with a SHA-256 PKI (Mountebank's TLS refuses the CX700's SHA-1 chain). */
async function startBenchLab(base: string) {
  const state = join(base, 'state')
  const file = join(base, 'bench.yaml')
  const parent = JSON.stringify(join(packageRoot(), 'scenarios', 'default.yaml'))
  writeFileSync(file, `extends: ${parent}\nname: bench-http\npki: { hash: sha256 }\n`)
  const lab = await startLabProcess(state, [file])
  const { endpoints } = await new LabClient(lab.adminUrl).endpoints()
  const port = endpoints.find((e) => e.name === 'https')!.port
  // The certificate the lab serves, for the peers too (same key size, same handshake cost).
  const pki = await labPki(state, loadScenario(file))
  return {
    lab,
    port,
    ca: certificatePem(pki.root.certificate),
    certPem: pki.fallback.certPem,
    keyPem: pki.fallback.keyPem,
  }
}

/** The two peers on the lab's certificate: a bare fastify, and a Mountebank imposter with the lab's answer. */
async function startPeers(
  base: string,
  lab: { certPem: string; keyPem: string },
  answer: string,
  peers: ChildProcess[],
): Promise<{ fastifyPort: number; mbPort: number }> {
  const certFile = join(base, 'cert.pem')
  const keyFile = join(base, 'key.pem')
  writeFileSync(certFile, lab.certPem)
  writeFileSync(keyFile, lab.keyPem)
  const fastifyPort = await freePort()
  const fastify = startFastify(fastifyPort, certFile, keyFile)
  peers.push(fastify)
  await ready(fastify, 'ready')
  const mbPort = await freePort()
  peers.push(await startMountebank(await freePort(), mbPort, lab.certPem, lab.keyPem, answer))
  return { fastifyPort, mbPort }
}

type Rates = Record<'autodiscover' | 'findItem' | 'fastify' | 'mb', number[]>

/** Alternating rounds of the four targets after one warm-up each. */
async function measure(targets: Record<keyof Rates, Target>, ca: string, rounds: number, seconds: number) {
  for (const t of Object.values(targets)) await round(t, ca, 1) // warm up
  const rates: Rates = { autodiscover: [], findItem: [], fastify: [], mb: [] }
  for (let i = 0; i < rounds; i++)
    for (const name of ['autodiscover', 'fastify', 'findItem', 'mb'] as const)
      rates[name].push(await round(targets[name], ca, seconds))
  return rates
}

function report(rates: Rates, rounds: number): void {
  const show = (xs: number[]): string => xs.map(Math.round).join(', ')
  console.log(`lab Autodiscover POX (journal on): ${show(rates.autodiscover)} req/s`)
  console.log(`lab EWS FindItem (journal on):     ${show(rates.findItem)} req/s`)
  console.log(`bare fastify hello-world:          ${show(rates.fastify)} req/s`)
  console.log(`Mountebank imposter (same answer): ${show(rates.mb)} req/s`)
  const ad = median(rates.autodiscover)
  const f = median(rates.fastify)
  const m = median(rates.mb)
  const common = { unit: 'req/s', finditem: Math.round(median(rates.findItem)), clients: 8, rounds }
  result('http-fastify', { lab: Math.round(ad), peer: Math.round(f), ratio: ad / f, ...common })
  result('http-mountebank', { lab: Math.round(ad), peer: Math.round(m), ratio: ad / m, ...common })
}

export async function http(rounds = 3, seconds = 3): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-http-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  const peers: ChildProcess[] = []
  try {
    const started = await startBenchLab(base)
    lab = started.lab
    const autodiscover: Target = {
      port: started.port,
      host: 'autodiscover.contoso.test',
      path: '/autodiscover/autodiscover.xml',
      body: POX,
      expect: '<EwsUrl>',
    }
    const findItem: Target = {
      ...autodiscover,
      host: 'mail.contoso.test',
      path: '/EWS/Exchange.asmx',
      body: FIND,
      expect: 'NoError',
    }
    const answer = await post(autodiscover, started.ca)
    const { fastifyPort, mbPort } = await startPeers(base, started, answer, peers)
    const fastify: Target = { ...autodiscover, port: fastifyPort, expect: 'hello' }
    const mb: Target = { ...autodiscover, port: mbPort, expect: '<EwsUrl>' }
    report(await measure({ autodiscover, findItem, fastify, mb }, started.ca, rounds, seconds), rounds)
  } finally {
    for (const p of peers) await stopProcess(p)
    if (lab) await lab.stop()
    rmSync(base, { recursive: true, force: true })
  }
}
