import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { verifyOnLab } from '../../cli/verify.js'
import { buildTimelines } from '../../lab/admin/timeline.js'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab } from '../helpers/lab.js'

const scenario = (file: string): string => join(packageRoot(), 'scenarios', file)

describe('phones that loop, as the dashboard sees them', () => {
  for (const [file, loops] of [
    ['f10-sha2-root.yaml', 3],
    ['f16-r1-firmware-on-r2.yaml', 3],
  ] as const)
    it(`${file}: the lane counts the loops and says the phone is cycling`, async () => {
      await using t = await startTestLab(undefined, { file: scenario(file) })
      const result = await verifyOnLab(t.lab)
      expect(result.divergences).toEqual([])
      const [lane] = buildTimelines(t.lab.journal.query({}), t.lab.clock.now()).filter((d) =>
        d.macs.includes('00:04:f2:00:00:01'),
      )
      // Three sign-ins that went back to the DC after the pool: two loops back, the third time round.
      expect(lane?.loops).toBeGreaterThanOrEqual(loops - 1)
      expect(lane?.alert).toMatch(/^cycling Locating Domain Controller → Connecting, \d+(st|nd|rd|th) time$/)
    })
})
