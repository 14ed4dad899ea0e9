/**
 * Runs `work` on every job with at most `n` at once, in the jobs' order (each worker takes the next job when
 * its last is done); `work` gets the index of the worker it runs on (to give each a resource of its own).
 */
export async function eachLimited<T>(
  jobs: readonly T[],
  n: number,
  work: (job: T, worker: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (w: number): Promise<void> => {
    while (next < jobs.length) await work(jobs[next++]!, w)
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, jobs.length)) }, (_, w) => worker(w)))
}
