/**
 * What each CX700 build does differently (spec §6.1, §6.4, §7): the table the emulator consults instead of
 * comparing version strings in its stages. A version the table does not know behaves as the newest build.
 */
export interface FirmwareProfile {
  readonly version: string
  /** What it is, in the words of the sources. */
  readonly label: string
  /** Looks up `ucupdates-r2.<option 15>` when no user has ever signed in (§6.1, S1c, S20). */
  readonly findsUpdatesBeforeSignIn: boolean
  /**
   * Against an OCS 2007 R2 pool: `works`, or `crashes` — signs in almost fully, then crashes and reboots,
   * for ever (F16, §6.4, S12).
   */
  readonly onR2Pool: 'works' | 'crashes'
  readonly source: string
}

export const FIRMWARE_PROFILES: readonly FirmwareProfile[] = [
  {
    version: '1.0.199.123',
    label: 'early R2-era build with the update-server lookup disabled',
    findsUpdatesBeforeSignIn: false,
    onR2Pool: 'works',
    source: 'spec §6.1 (S1c): "1.0.199.123 does not look up ucupdates"; F18',
  },
  {
    version: '1.0.522.73',
    label: 'OCS 2007 (R1) firmware',
    findsUpdatesBeforeSignIn: false,
    onR2Pool: 'crashes',
    source: 'spec §6.4 (S12): not compatible with OCS 2007 R2, crash and reboot loop; F16',
  },
  {
    version: '1.0.522.101',
    label: 'the bridge build: knows ucupdates-r2 (upgrade step 1)',
    findsUpdatesBeforeSignIn: true,
    onR2Pool: 'works',
    source: 'spec §6.1 (S1c), §6.4 (S1-TOC, S1d BaseURL …/1.0.522.101/CPE)',
  },
  {
    version: '3.5.6907.35',
    label: 'Office Communicator 2007 R2 Phone Edition (upgrade step 2)',
    findsUpdatesBeforeSignIn: true,
    onR2Pool: 'works',
    source: 'spec §6.1 (S1c), §6.4',
  },
]

/** The newest build (spec §6.4): a phone below it after sign-in was not updated. */
export const LATEST_FIRMWARE = '3.5.6907.35'

/** The profile of a build; one the table does not know behaves as the newest. */
export function firmwareProfile(version: string): FirmwareProfile {
  return (
    FIRMWARE_PROFILES.find((p) => p.version === version) ?? {
      ...FIRMWARE_PROFILES.at(-1)!,
      version,
      label: 'a build the lab does not know (behaves as the newest)',
    }
  )
}

/** The User-Agent the build sends (OCS clients name CPE and OCPHONE versions). */
export const userAgent = (version: string): string =>
  `CPE/${version} OCPHONE/${version} (Microsoft Office Communicator 2007 R2 Phone Edition)`
