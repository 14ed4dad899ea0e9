import { describe, expectTypeOf, it } from 'vitest'
import type { Lane } from './browser/wire.js'
import type { DeviceTimeline } from './timeline.js'

/* The pages' types of what the admin API answers, held to the server's at compile time (npm run typecheck). */
describe('the pages read what the admin API answers', () => {
  it('a lane is a device timeline', () => {
    expectTypeOf<DeviceTimeline>().toExtend<Lane>()
  })
})
