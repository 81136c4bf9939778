/** The time rollouts go by (maintenance windows, phase start times); tests move it by hand. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
