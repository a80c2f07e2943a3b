// Soak settings from the environment, shared by the CI test and the long runner.
//   TAILPLOW_SOAK_MINUTES          how long lines are written (default 2; the full run is 30)
//   TAILPLOW_SOAK_RATE             lines/s (default 300 for short runs: the CI check of zero loss under
//                                  faults, which 2 shared cores sustain; 2000 for long runs, the rate)
//   TAILPLOW_SOAK_ROTATE_SECONDS   rotation interval (default 30 up to 5 minutes, else 300)
//   TAILPLOW_SOAK_SAMPLE_SECONDS   sampling interval (default 3 up to 5 minutes, else 5)
//   TAILPLOW_SOAK_FAULTS           0: no restarts or kills (default 1)
import type { SoakOptions } from './soak';

export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): SoakOptions {
  const num = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
    return v;
  };
  const minutes = num('TAILPLOW_SOAK_MINUTES', 2);
  const short = minutes <= 5;
  return {
    seconds: Math.round(minutes * 60),
    rate: num('TAILPLOW_SOAK_RATE', short ? 300 : 2000),
    rotateEverySeconds: num('TAILPLOW_SOAK_ROTATE_SECONDS', short ? 30 : 300),
    sampleEverySeconds: num('TAILPLOW_SOAK_SAMPLE_SECONDS', short ? 3 : 5),
    faults: (env.TAILPLOW_SOAK_FAULTS ?? '1').trim() !== '0',
    // Short (CI) runs give up sooner, so a pipeline that cannot keep up fails within ~4 minutes.
    catchUpTimeoutSeconds: short ? 60 : 300,
    log,
  };
}
