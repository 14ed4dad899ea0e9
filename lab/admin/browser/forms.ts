import { $, why } from './api.js'

/** Writes a status line. */
export const say = (id: string, text: string): void => {
  $(id).textContent = text
}

/** A form's fields as strings. */
function fields(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, typeof v === 'string' ? v : v.name]))
}

/**
 * Wires a form: its submit runs `act`, whose words (or the refusal) go to the status line `msg` (`act` may
 * draw there itself and return nothing); then `then` redraws what the form changed.
 */
export function onSubmit(
  id: string,
  msg: string,
  act: (f: Record<string, string>, form: HTMLFormElement) => Promise<string | undefined>,
  then?: () => Promise<void>,
): void {
  $<HTMLFormElement>(id).addEventListener('submit', (ev) => {
    ev.preventDefault()
    const form = ev.currentTarget as HTMLFormElement
    void act(fields(form), form)
      .then((text) => {
        if (text !== undefined) say(msg, text)
      })
      .catch((e: unknown) => say(msg, `Refused: ${why(e)}`))
      .then(() => then?.())
  })
}
