/**
 * OpenTelemetry spans of a server member, through `@opentelemetry/api` only: without an SDK
 * registered by the application every call is a no-op (the API's default tracer), so tracing costs
 * nothing unless someone listens.
 *
 * Spans (all carry `consensus.node`):
 * - `consensus.election`: from the member becoming (pre-)candidate to leaving candidacy; attributes
 *   `consensus.term` (the term reached), `consensus.election.outcome` (`won` / `lost`),
 *   `consensus.election.duration_ms` (monotonic, from the server's clock).
 * - `consensus.propose`: a client command from proposal to commit and apply (the handler's
 *   `node.propose` round trip); `consensus.command`, `consensus.index`, status ERROR on failure.
 * - `consensus.lock_wait`: a queued `LockAcquire` from queueing to its final answer;
 *   `consensus.lock`, `consensus.lock.outcome`, `consensus.lock.wait_ms`.
 *
 * Contract: every span started is ended exactly once (`close()` ends an election still open).
 */
import { ProxyTracerProvider, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';

/** The tracer name used for every span. */
export const TRACER_NAME = 'vibee-consensus';

/** Ends a span with an outcome (idempotent). */
export type EndSpan = (outcome: { ok: boolean; detail?: string; index?: number }) => void;

/** The hooks a server calls. */
export interface ServerTracing {
  /** The node observer's role change. */
  onRoleChange(t: { from: string; to: string; term: number }): void;
  /** A command proposed for a client; end it when it committed (or failed). */
  proposal(commandType: string): EndSpan;
  /** A lock request that was queued; end it with the final answer. */
  lockWait(name: string): EndSpan;
  /** Ends an election span still open (the member stops). */
  close(): void;
}

/** Options of `createServerTracing`. */
export interface ServerTracingOptions {
  nodeId: string;
  /** Monotonic ms (the server's clock) for the duration attributes. */
  now(): number;
  /** Default: `trace.getTracer(TRACER_NAME)` (the globally registered provider, or no-op). */
  tracer?: Tracer;
}

const CANDIDATE = new Set(['pre_candidate', 'candidate']);

/** The API's no-op provider, which the global provider delegates to until an SDK registers. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * True while no SDK is registered globally. Checked per span, so one registered later is used
 * from then on; meanwhile a proposal skips the no-op span, which was a sixth of the leader's work
 * between a client's request and the appends it sends.
 */
function globalTracingOff(): boolean {
  const p = trace.getTracerProvider();
  return p instanceof ProxyTracerProvider && p.getDelegate() === NOOP_PROVIDER;
}

/** What a span not started ends with. */
const NOT_STARTED: EndSpan = () => undefined;

/** Creates the server's tracing hooks (see module doc). */
export function createServerTracing(o: ServerTracingOptions): ServerTracing {
  const tracer = o.tracer ?? trace.getTracer(TRACER_NAME);
  const off = o.tracer ? () => false : globalTracingOff;
  const base = { 'consensus.node': o.nodeId };
  let election: { span: Span; start: number } | null = null;

  const endElection = (outcome: 'won' | 'lost', term: number) => {
    if (!election) return;
    const { span, start } = election;
    election = null;
    span.setAttributes({
      'consensus.term': term,
      'consensus.election.outcome': outcome,
      'consensus.election.duration_ms': Math.max(0, o.now() - start),
    });
    span.end();
  };

  const ender = (span: Span, extra: (ok: boolean) => Record<string, string | number>) => {
    let done = false;
    return (r: { ok: boolean; detail?: string; index?: number }) => {
      if (done) return;
      done = true;
      span.setAttributes(extra(r.ok));
      if (r.index !== undefined) span.setAttribute('consensus.index', r.index);
      if (!r.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: r.detail ?? 'failed' });
      span.end();
    };
  };

  return {
    onRoleChange(t) {
      if (CANDIDATE.has(t.to)) {
        if (!election) {
          election = {
            span: tracer.startSpan('consensus.election', {
              attributes: { ...base, 'consensus.term': t.term },
            }),
            start: o.now(),
          };
        }
        return;
      }
      endElection(t.to === 'leader' ? 'won' : 'lost', t.term);
    },
    proposal(commandType) {
      if (off()) return NOT_STARTED;
      const span = tracer.startSpan('consensus.propose', {
        attributes: { ...base, 'consensus.command': commandType },
      });
      return ender(span, () => ({}));
    },
    lockWait(name) {
      if (off()) return NOT_STARTED;
      const start = o.now();
      const span = tracer.startSpan('consensus.lock_wait', {
        attributes: { ...base, 'consensus.lock': name },
      });
      return ender(span, (ok) => ({
        'consensus.lock.outcome': ok ? 'acquired' : 'not_acquired',
        'consensus.lock.wait_ms': Math.max(0, o.now() - start),
      }));
    },
    close() {
      endElection('lost', 0);
    },
  };
}
