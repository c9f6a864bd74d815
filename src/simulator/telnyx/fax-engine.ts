import { randomUUID } from 'node:crypto';
import { SimClock, Timers } from '../clock';
import type { JsonObject } from '../http';
import { CommandRejected, type TelnyxError } from './errors';
import type { TelnyxInboundFaxScript, TelnyxSimFax, TelnyxFaxScript } from './types';
import type { TelnyxFaxEventType, WebhookDispatcher } from './webhooks';

/**
 * Telnyx Programmable Fax, simulated: `POST /faxes` queues a fax, which then goes through the statuses and
 * webhooks Telnyx documents (`fax.queued` → `fax.media.processed` → (originated) → `fax.sending.started` →
 * `fax.delivered` | `fax.failed`), as the fax machine scripted for its number decides. Cancel works in the
 * statuses the spec names; Telnyx itself never retries a failed fax (its support docs), nor does this.
 * Faxes to our numbers (`receive`) go `fax.receiving.started` → `fax.media.processing.started` → `fax.received`
 * (a `media_url` signed for minutes, renewed by `refresh`) | `fax.failed`, as "Receive a Fax via API" documents.
 */

/** Simulated milliseconds between the steps of a fax. */
const FAX_MS = {
  mediaProcessed: 300,
  originated: 500,
  /** A busy line refuses this long after the call went out; an unanswered one rings this long. */
  busy: 500,
  noAnswer: 3_000,
  answered: 800,
  perPage: 1_000,
  /** A received fax's document is processed this long after its last page. */
  mediaProcessing: 300,
};

/** The statuses `POST /faxes/{id}/actions/cancel` accepts (spec: CancelFax). */
const CANCELLABLE: ReadonlySet<string> = new Set(['queued', 'media.processed', 'originated', 'sending']);
const FINAL: ReadonlySet<string> = new Set(['delivered', 'failed', 'received']);
/** Media failures end a fax before it is dialled. */
const MEDIA_FAILURES: ReadonlySet<string> = new Set([
  'file_format_invalid',
  'file_download_failed',
  'file_size_limit_exceeded',
  'page_count_limit_exceeded',
  'media_processing_exception',
]);
/** Sent after a cancel. Which reason Telnyx sends then is unconfirmed; this is the simulator's choice. */
export const CANCEL_FAILURE_REASON = 'canceled';
const DEFAULT_PAGES = 3;
/** The simulated account's user id (`user_id` in fax webhooks). */
const USER_ID = '5f1a2b3c-0000-4000-8000-00000000fa10';

const E164 = /^\+[1-9]\d{1,14}$/;
const SIP_URI = /^sips?:\S+@\S+$/;

/** Telnyx's fax errors (`programmable-fax_Errors`), with the wording of the spec's examples. */
export const faxErrors = {
  notFound: (): TelnyxError => ({
    code: '404',
    title: 'Not Found',
    detail: 'The requested resource does not exist',
  }),
  unprocessable: (detail: string, pointer?: string): TelnyxError => ({
    code: '422',
    title: 'Unprocessable Entity',
    detail,
    ...(pointer ? { source: { pointer } } : {}),
  }),
};

const reject = (detail: string, pointer?: string) =>
  new CommandRejected(422, [faxErrors.unprocessable(detail, pointer)]);

interface Fax {
  record: TelnyxSimFax;
  /** Its final webhook is never sent (`loseFinalWebhook`). */
  loseFinal: boolean;
  /** Received faxes: the document's current signed URL. */
  documentUrl?: string;
  clientState?: string;
  webhookUrl?: string;
  createdAt: Date;
  updatedAt: Date;
  timers: Timers;
}

export interface FaxEngineOptions {
  /** The Programmable Fax Application id `POST /faxes` must name. */
  connectionId: string;
  timeScale: number;
  /** Fax machines behind the numbers faxes are sent to; other numbers do not answer. */
  machines: Record<string, TelnyxFaxScript>;
  dispatcher: WebhookDispatcher;
  webhookUrl: () => string | undefined;
  log: (line: string) => void;
}

export class FaxEngine {
  private readonly faxes = new Map<string, Fax>();
  /** Faxes sent to each number so far (for `attemptsBeforeSuccess`). */
  private readonly sentTo = new Map<string, number>();
  private readonly clock: SimClock;

  constructor(private readonly options: FaxEngineOptions) {
    this.clock = new SimClock(options.timeScale);
  }

  /** `POST /faxes`; the body has passed the spec's `SendFaxRequest` schema. Answers the `Fax`. */
  send(body: JsonObject): JsonObject {
    if (body.connection_id !== this.options.connectionId) {
      throw reject('The connection_id is not a Programmable Fax Application of this account.', '/connection_id');
    }
    const from = String(body.from);
    const to = String(body.to);
    if (!E164.test(from)) throw reject("The 'from' parameter must be in E164 format.", '/from');
    if (!E164.test(to) && !SIP_URI.test(to)) throw reject("The 'to' parameter must be in E164 format or a SIP URI.");
    const mediaUrl = typeof body.media_url === 'string' ? body.media_url : undefined;
    if (body.media_name !== undefined) {
      // The simulator has no Media Storage: nothing was uploaded under any name.
      throw reject('No media was uploaded under this media_name.', '/media_name');
    }
    if (!mediaUrl) throw reject('One of media_url, media_name or contents is required.', '/media_url');
    if (!/^https?:\/\//.test(mediaUrl)) throw reject('media_url must be an http(s) URL.', '/media_url');

    const now = new Date();
    const fax: Fax = {
      record: {
        id: randomUUID(),
        direction: 'outbound',
        from,
        to,
        mediaUrl,
        status: 'queued',
        pagesSent: 0,
        webhooks: [],
      },
      loseFinal: this.options.machines[to]?.loseFinalWebhook === true,
      clientState: typeof body.client_state === 'string' ? body.client_state : undefined,
      webhookUrl: typeof body.webhook_url === 'string' ? body.webhook_url : undefined,
      createdAt: now,
      updatedAt: now,
      timers: new Timers(this.clock),
    };
    this.faxes.set(fax.record.id, fax);
    this.emit(fax, 'fax.queued');
    this.run(fax);
    return this.resource(fax);
  }

  get(id: string): JsonObject {
    return this.resource(this.require(id));
  }

  list(filter: { to?: string; from?: string; direction?: string }): JsonObject[] {
    return [...this.faxes.values()]
      .filter(
        (fax) =>
          (!filter.to || fax.record.to === filter.to) &&
          (!filter.from || fax.record.from === filter.from) &&
          (!filter.direction || filter.direction === fax.record.direction),
      )
      .map((fax) => this.resource(fax));
  }

  delete(id: string): void {
    const fax = this.require(id);
    fax.timers.close();
    this.faxes.delete(id);
  }

  /** `POST /faxes/{id}/actions/cancel`: 202 in the spec's statuses, 422 otherwise. */
  cancel(id: string): JsonObject {
    const fax = this.require(id);
    if (!CANCELLABLE.has(fax.record.status)) {
      throw reject(`The fax cannot be cancelled in its status ${fax.record.status}.`);
    }
    fax.timers.clear();
    fax.record.cancelled = true;
    this.fail(fax, CANCEL_FAILURE_REASON);
    return { result: 'ok' };
  }

  /** `POST /faxes/{id}/actions/refresh`: signs a received fax's document anew (a new `media_url`). */
  refresh(id: string): JsonObject {
    const fax = this.require(id);
    if (fax.record.direction !== 'inbound' || fax.record.status !== 'received')
      throw reject('Only the media of a received fax can be refreshed.');
    fax.record.refreshes = (fax.record.refreshes ?? 0) + 1;
    fax.documentUrl = this.signedDocumentUrl(fax);
    fax.updatedAt = new Date();
    return { result: 'ok' };
  }

  /**
   * A fax machine faxes `script.to`: pages arrive one per `perPage`, then the document is processed and the
   * fax is received (or it fails, or only part of it arrives).
   */
  receive(script: TelnyxInboundFaxScript): { faxId: string } {
    const now = new Date();
    const pages = Math.max(1, Math.floor(script.pages ?? DEFAULT_PAGES));
    const fax: Fax = {
      record: {
        id: randomUUID(),
        direction: 'inbound',
        from: script.from,
        to: script.to,
        mediaUrl: '',
        status: 'receiving',
        pagesSent: 0,
        webhooks: [],
      },
      loseFinal: script.loseFinalWebhook === true,
      createdAt: now,
      updatedAt: now,
      timers: new Timers(this.clock),
    };
    this.faxes.set(fax.record.id, fax);
    this.emit(fax, 'fax.receiving.started');
    const outcome = script.outcome ?? 'received';
    // A partial or failed fax breaks halfway; a failed one keeps nothing.
    const arriving = outcome === 'received' ? pages : Math.max(1, Math.floor(pages / 2));
    fax.timers.after(FAX_MS.perPage * arriving, () => {
      fax.record.pagesSent = arriving;
      if (outcome === 'failed') return this.fail(fax, script.failureReason ?? 'sender_call_dropped');
      this.setStatus(fax, 'media.processing');
      this.emit(fax, 'fax.media.processing.started', { page_count: arriving });
      fax.timers.after(FAX_MS.mediaProcessing, () => {
        this.setStatus(fax, 'received');
        fax.documentUrl = this.signedDocumentUrl(fax);
        fax.record.mediaUrl = fax.documentUrl;
        const seconds = Math.max(1, this.clock.simSecondsSince(fax.createdAt.getTime()));
        this.emit(fax, 'fax.received', {
          media_url: fax.documentUrl,
          page_count: arriving,
          call_duration_secs: seconds,
          partial_content: outcome === 'partial',
        });
        this.options.log(`fax ${fax.record.id} from ${fax.record.from}: received, ${arriving} pages`);
      });
    });
    return { faxId: fax.record.id };
  }

  records(): TelnyxSimFax[] {
    return [...this.faxes.values()].map((fax) => ({ ...fax.record, webhooks: [...fax.record.webhooks] }));
  }

  record(id: string): TelnyxSimFax | undefined {
    const fax = this.faxes.get(id);
    return fax && { ...fax.record, webhooks: [...fax.record.webhooks] };
  }

  close(): void {
    for (const fax of this.faxes.values()) fax.timers.close();
  }

  private require(id: string): Fax {
    const fax = this.faxes.get(id);
    if (!fax) throw new CommandRejected(404, [faxErrors.notFound()]);
    return fax;
  }

  /** What the fax machine at `to` makes of this fax, step by step on the simulated clock. */
  private run(fax: Fax): void {
    const { to } = fax.record;
    const script: TelnyxFaxScript = this.options.machines[to] ?? { outcome: 'no-answer' };
    const earlier = this.sentTo.get(to) ?? 0;
    this.sentTo.set(to, earlier + 1);
    const outcome = earlier < (script.attemptsBeforeSuccess ?? 0) ? 'busy' : script.outcome;
    const reason =
      outcome === 'failure'
        ? (script.failureReason ?? 'fax_signaling_error')
        : outcome === 'fail-on-page'
          ? (script.failureReason ?? 'receiver_call_dropped')
          : undefined;
    const pages = Math.max(1, Math.floor(script.pages ?? DEFAULT_PAGES));
    const { timers } = fax;

    timers.after(FAX_MS.mediaProcessed, () => {
      if (reason && MEDIA_FAILURES.has(reason)) return this.fail(fax, reason);
      this.setStatus(fax, 'media.processed');
      this.emit(fax, 'fax.media.processed');
      timers.after(FAX_MS.originated, () => {
        this.setStatus(fax, 'originated');
        if (outcome === 'busy') return timers.after(FAX_MS.busy, () => this.fail(fax, 'user_busy'));
        if (outcome === 'no-answer') return timers.after(FAX_MS.noAnswer, () => this.fail(fax, 'receiver_no_answer'));
        timers.after(FAX_MS.answered, () => {
          this.setStatus(fax, 'sending');
          this.emit(fax, 'fax.sending.started');
          const failOnPage = reason ? Math.min(script.failOnPage ?? 1, pages) : undefined;
          const sendPage = (page: number) => {
            if (failOnPage === page) return this.fail(fax, reason!);
            fax.record.pagesSent = page;
            if (page === pages) return this.deliver(fax);
            timers.after(FAX_MS.perPage, () => sendPage(page + 1));
          };
          timers.after(FAX_MS.perPage, () => sendPage(1));
        });
      });
    });
  }

  /** Where Telnyx keeps a received document: a URL signed for minutes (a new signature on each refresh). */
  private signedDocumentUrl(fax: Fax): string {
    const version = fax.record.refreshes ?? 0;
    return `https://faxes.telnyx.example/${fax.record.id}.pdf?signature=${randomUUID()}&version=${version}`;
  }

  private deliver(fax: Fax): void {
    this.setStatus(fax, 'delivered');
    const seconds = Math.max(1, this.clock.simSecondsSince(fax.createdAt.getTime()));
    this.emit(fax, 'fax.delivered', { page_count: fax.record.pagesSent, call_duration_secs: seconds });
    this.options.log(`fax ${fax.record.id} to ${fax.record.to}: delivered, ${fax.record.pagesSent} pages`);
  }

  private fail(fax: Fax, reason: string): void {
    if (FINAL.has(fax.record.status)) return;
    this.setStatus(fax, 'failed');
    fax.record.failureReason = reason;
    this.emit(fax, 'fax.failed', { failure_reason: reason });
    this.options.log(`fax ${fax.record.id} to ${fax.record.to}: failed (${reason})`);
  }

  private setStatus(fax: Fax, status: TelnyxSimFax['status']): void {
    fax.record.status = status;
    fax.updatedAt = new Date();
  }

  /** The spec's `Fax` object. */
  private resource(fax: Fax): JsonObject {
    const { record } = fax;
    return {
      id: record.id,
      record_type: 'fax',
      connection_id: this.options.connectionId,
      direction: record.direction,
      from: record.from,
      to: record.to,
      // A received fax's document once it is there (its current signature); a sent fax's source document.
      ...(record.direction === 'outbound' ? { media_url: record.mediaUrl } : {}),
      ...(fax.documentUrl ? { media_url: fax.documentUrl } : {}),
      quality: 'high',
      status: record.status,
      store_media: false,
      ...(fax.clientState === undefined ? {} : { client_state: fax.clientState }),
      ...(fax.webhookUrl === undefined ? {} : { webhook_url: fax.webhookUrl }),
      created_at: fax.createdAt.toISOString(),
      updated_at: fax.updatedAt.toISOString(),
    };
  }

  private emit(fax: Fax, eventType: TelnyxFaxEventType, fields: JsonObject = {}): void {
    const { record } = fax;
    const status = {
      'fax.queued': 'queued',
      'fax.media.processed': 'media.processed',
      'fax.sending.started': 'sending',
      'fax.delivered': 'delivered',
      'fax.failed': 'failed',
      'fax.receiving.started': 'receiving',
      'fax.media.processing.started': 'media.processing',
      'fax.received': 'received',
    }[eventType];
    const inbound = record.direction === 'inbound';
    const payload: JsonObject = {
      connection_id: this.options.connectionId,
      direction: record.direction,
      fax_id: record.id,
      from: record.from,
      to: record.to,
      // A received fax has no document of ours; the documented received events name the caller (not fax.failed).
      ...(inbound ? {} : { original_media_url: record.mediaUrl }),
      ...(inbound && eventType !== 'fax.failed' ? { caller_id: record.from } : {}),
      status,
      user_id: USER_ID,
      ...(fax.clientState === undefined ? {} : { client_state: fax.clientState }),
      ...fields,
    };
    const body = {
      data: {
        record_type: 'event' as const,
        event_type: eventType,
        id: randomUUID(),
        occurred_at: new Date().toISOString(),
        payload,
      },
    };
    if (fax.loseFinal && FINAL.has(String(status))) {
      record.lostWebhooks = [...(record.lostWebhooks ?? []), eventType];
      return;
    }
    record.webhooks.push(eventType);
    // One lane per fax: its webhooks go out in order (duplicated, delayed or reordered as the faults say).
    this.options.dispatcher.send(record.id, () => fax.webhookUrl ?? this.options.webhookUrl(), body);
  }
}
