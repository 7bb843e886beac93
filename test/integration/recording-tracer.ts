/**
 * A minimal recording `TracerProvider` for tests (`@opentelemetry/sdk-trace-base` is not a
 * dependency): every span started through the API is recorded with its name, attributes, status
 * and start/end times (ms, `performance.now()`).
 */
import type {
  Attributes,
  AttributeValue,
  Context,
  Span,
  SpanContext,
  SpanOptions,
  SpanStatus,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';

/** One recorded span. */
export interface RecordedSpan {
  name: string;
  tracer: string;
  attributes: Attributes;
  status: SpanStatus | null;
  start: number;
  end: number | null;
  /** How many times `end()` was called (the contract: exactly once). */
  ends: number;
}

let n = 0;
const hex = (x: number, len: number) => x.toString(16).padStart(len, '0');

class RecordingSpan implements Span {
  private readonly ctx: SpanContext;
  constructor(private readonly rec: RecordedSpan) {
    n++;
    this.ctx = { traceId: hex(n, 32), spanId: hex(n, 16), traceFlags: TraceFlags.SAMPLED };
  }
  spanContext(): SpanContext {
    return this.ctx;
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.rec.attributes[key] = value;
    return this;
  }
  setAttributes(a: Attributes): this {
    Object.assign(this.rec.attributes, a);
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(s: SpanStatus): this {
    this.rec.status = s;
    return this;
  }
  updateName(name: string): this {
    this.rec.name = name;
    return this;
  }
  end(): void {
    this.rec.ends++;
    if (this.rec.end === null) this.rec.end = performance.now();
  }
  isRecording(): boolean {
    return this.rec.end === null;
  }
  recordException(): void {}
}

/** A provider whose tracers record into `spans`. */
export class RecordingTracerProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = [];
  getTracer(name: string): Tracer {
    const spans = this.spans;
    const startSpan = (spanName: string, opts?: SpanOptions, _ctx?: Context): Span => {
      const rec: RecordedSpan = {
        name: spanName,
        tracer: name,
        attributes: { ...(opts?.attributes ?? {}) },
        status: null,
        start: performance.now(),
        end: null,
        ends: 0,
      };
      spans.push(rec);
      return new RecordingSpan(rec);
    };
    return {
      startSpan,
      startActiveSpan(spanName: string, ...rest: unknown[]) {
        const fn = rest[rest.length - 1] as (s: Span) => unknown;
        const opts = (rest.length > 1 ? rest[0] : undefined) as SpanOptions | undefined;
        return fn(startSpan(spanName, opts));
      },
    } as Tracer;
  }
}
