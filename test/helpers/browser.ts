import { mkdirSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { tool } from './tools.js'

/** Chromium as this machine runs it (env notes): headless, no sandbox as root, no background network. */
export const BROWSER_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export const browserTool = tool('chromium', 'chromium')

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: browserTool.path!, headless: true, args: BROWSER_FLAGS })
}

/** One browser for a describe block (launched before its tests, closed after), and the folder for screenshots. */
export function sharedBrowser(outDir: string): () => Browser {
  let browser: Browser | undefined
  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
  })
  return () => browser!
}
