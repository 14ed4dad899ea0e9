import { usage } from './args.js'
import { up } from './up.js'

export const TRAIN_HELP = `Usage: cx700-lab train PACK [SCENARIO] [up options]

Starts the lab (as cx700-lab up, on SCENARIO or the default scenario) with a training session on the
exercise pack PACK (YAML: exercises with a question and choices, or a fault to fix; the tools each hands
out, hints, a time limit, the story or faults that make the fault, the trainer's notes; checked like
scenarios, problems at file:line). scenarios/training/ has two: first-day.yaml and half-day.yaml.

The dashboard becomes the trainer's console: add trainees with the MAC of their phone (hardware or
emulated), assign each an exercise (chosen, or drawn at random from the pack's seed): its faults and its
story go to that phone alone (a device view), so every trainee can meet a different fault on the same lab;
a story that cannot be kept to one phone is said so before assigning. Each trainee opens their link (its own
token): their phone's screen, the tools the exercise allows (DNS lookup, directory search, the phone's
journal and capture, changes to their own DNS and DHCP), the question and choices or the fault to fix,
hints, the time left — never the scenario, the story, the faults or the script. An answer, or a fix the
phone confirms by signing in after a reboot, opens the reveal (the cause, the trainer's notes, the journal
events that prove it). Reports and the class summary: in the console, printable, HTML or JSON.

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
