import { describe, expect, it } from 'vitest'
import { nodeVersionProblem } from './node-version.js'

describe('the Node versions the lab runs on', () => {
  it('takes 22.12 and later on the 22 line, and 24 and later', () => {
    for (const v of ['22.12.0', '22.23.3', '23.1.0', '24.0.0', '24.21.0', '26.1.2'])
      expect(nodeVersionProblem(v)).toBeUndefined()
  })

  it('refuses older ones with a coded error that names the version and the way out', () => {
    for (const v of ['20.20.2', '22.11.0', '18.19.1']) {
      const problem = nodeVersionProblem(v)
      expect(problem?.code).toBe('LAB_ERR_NODE_VERSION')
      expect(problem?.message).toContain(`Node ${v} is not supported`)
      expect(problem?.message).toContain('node@24')
    }
  })
})
