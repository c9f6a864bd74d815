import type { AgentScript } from './scripts';

/** Options every simulator takes; each carrier's options extend them. */
export interface SimulatorOptions {
  /** 0 = a random free port. */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Multiplies every simulated duration, including the timeouts our service asks for. @default 1 */
  timeScale?: number;
  /**
   * Behaviour of the numbers our service dials, keyed by E.164 (jambonz also matches SIP URIs and user
   * names). Unknown numbers answer after `SIM_MS.defaultAnswerAfter`.
   */
  agents?: Record<string, AgentScript>;
  /** Where the carrier's official spec lives (see each carrier's default); missing = warn once, no validation. */
  specPath?: string;
  log?: (line: string) => void;
}

/** What every running simulator offers its test or process; `R`, `C`, `W`: its call, command and webhook records. */
export interface SimulatorHandle<R, C, W> {
  /** The REST API base the carrier's base-URL setting points at. */
  readonly baseUrl: string;
  getCall(id: string): R | undefined;
  /** Resolves once the call ended and everything it sent our service was answered or given up. */
  waitForCallEnd(id: string, timeoutMs: number): Promise<R>;
  /** Every REST request received, with the status answered. */
  commands(): C[];
  /** Every webhook sent, with its delivery. */
  webhooks(): W[];
  close(): Promise<void>;
}
