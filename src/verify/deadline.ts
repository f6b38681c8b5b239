// Time bounds of the gate: one budget for the whole run (--timeout), every request and wait bounded
// by what is left of it, and a bounded exponential back-off for the health probes. When time runs
// out the step in progress fails, named, instead of the command hanging.
import { describeError } from "./server.ts";

export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

export class Deadline {
  private readonly end: number;

  constructor(readonly totalMs: number, private readonly now: () => number = () => performance.now()) {
    this.end = now() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.end - this.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** A signal that aborts when the budget (or `capMs`, if smaller) runs out. */
  signal(capMs = Infinity): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(this.remainingMs(), capMs))));
  }
}

/** True for the abort a deadline signal raises (DOMException TimeoutError/AbortError), also when wrapped. */
export function isTimeout(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const name = (c as { name?: unknown }).name;
    if (name === "TimeoutError" || name === "AbortError") return true;
  }
  return false;
}

export interface BackoffOptions {
  /** First pause after a failed probe. @default 100 */
  initialMs?: number;
  /** Pauses double up to this. @default 2000 */
  maxMs?: number;
  /** Each probe's own bound. @default 5000 */
  probeTimeoutMs?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface WaitResult {
  ok: boolean;
  tries: number;
  /** The last probe's error or answer, when it never succeeded. */
  last?: string;
  /** Set when the probe gave up before the deadline (waiting longer cannot help). */
  gaveUp?: boolean;
}

/** What a probe answers: ready, not yet, or "stop waiting" with the reason. */
export type ProbeAnswer = boolean | { giveUp: string };

/**
 * Calls `probe` until it returns true, gives up, or the deadline passes, pausing 100, 200, 400 … ms
 * (capped) between tries. A probe that throws counts as "not yet" (the server may still be starting).
 */
export async function waitWithBackoff(probe: (signal: AbortSignal) => Promise<ProbeAnswer>, deadline: Deadline, o: BackoffOptions = {}): Promise<WaitResult> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let pause = o.initialMs ?? 100;
  let tries = 0;
  let last: string | undefined;
  for (;;) {
    tries++;
    try {
      const answer = await probe(deadline.signal(o.probeTimeoutMs ?? 5000));
      if (answer === true) return { ok: true, tries };
      if (typeof answer === "object") return { ok: false, tries, last: answer.giveUp, gaveUp: true };
      last = "answered not ready";
    } catch (e) {
      // a probe cut short by the spent budget says nothing new: keep what the server said before
      if (!(isTimeout(e) && last !== undefined)) last = describeError(e);
    }
    if (deadline.remainingMs() <= 0) return { ok: false, tries, ...(last ? { last } : {}) };
    await sleep(Math.min(pause, deadline.remainingMs()));
    pause = Math.min(pause * 2, o.maxMs ?? 2000);
  }
}
