import { usage } from './args.js'
import { up } from './up.js'

export const TRAIN_HELP = `Usage: cx700-lab train PACK [SCENARIO] [up options]

Starts the lab (as cx700-lab up, on SCENARIO or the default scenario) with a training session on the
exercise pack PACK (YAML: exercises with a question, choices, the answer, hints, a time limit, the faults
that make the story and the trainer's notes; checked like scenarios, problems at file:line).

The dashboard becomes the trainer's console: add trainees with the MAC of their phone (hardware or
emulated), assign each an exercise (chosen, or drawn at random from the pack's seed): its faults go to that
phone alone, so every trainee can meet a different fault on the same lab. Each trainee opens the link the
console gives (its own token): their phone, its status line and what the servers saw of it, the question and
the choices, hints, the time left — never the scenario, the faults or the script. An answer opens the reveal
(the cause, the trainer's notes, the journal events that prove it) and adds to the trainee's report (HTML or
JSON: exercise, answer, time to answer, hints used).

For a class on other machines, listen beyond loopback: --admin 0.0.0.0:8700 (the console then needs the
printed token; trainees' pages need only their own).
`

/** \`train PACK [SCENARIO] [options]\` is \`up [SCENARIO] --training PACK [options]\`. */
export async function train(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(TRAIN_HELP)
    return 0
  }
  const [pack, ...rest] = argv
  if (pack === undefined || pack.startsWith('-')) throw usage('train takes an exercise pack file first.')
  return up([...rest, '--training', pack])
}
