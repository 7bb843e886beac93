/**
 * The byte-level state machine of the contract (`{ apply, snapshot, restore }`): decodes a log
 * entry's command with the generated codec, applies it, and encodes the `CommandResult`.
 *
 * Contract: `apply` never throws for bad bytes; a malformed command yields an error result with
 * code `DECODE_ERROR` (and, like every error, changes nothing but the applied index).
 */

import {
  decodeCommandMessage,
  decodeResultMessage,
  encodeCommandMessage,
  encodeResultMessage,
} from '../../generated/index.js';
import { type CoordinationOptions, CoordinationStateMachine, errorResult } from './state-machine.js';
import type { CommandMessage, CommandResult } from './types.js';

/** Encoding of commands and results (the generated `encodeCommandMessage` & co). */
export interface CommandCodec {
  decodeCommand(bytes: Uint8Array): CommandMessage;
  encodeCommand(cmd: CommandMessage): Uint8Array;
  encodeResult(result: CommandResult): Uint8Array;
  decodeResult(bytes: Uint8Array): CommandResult;
}

/** The generated codecs (the log format of coordination commands). */
export const GENERATED_COMMAND_CODEC: CommandCodec = Object.freeze({
  decodeCommand: decodeCommandMessage,
  encodeCommand: encodeCommandMessage,
  encodeResult: encodeResultMessage,
  decodeResult: decodeResultMessage,
});

/** The contract's replicated state machine interface. */
export interface StateMachine {
  apply(command: Uint8Array, index: number): Uint8Array;
  snapshot(): Uint8Array;
  /** `snapshot()` in steps (see the node's `StateMachine.snapshotSteps`). */
  snapshotSteps?(): Iterator<void, Uint8Array, void>;
  /** The same bytes as parts, in steps (a wrapper joins them once, with its own framing). */
  snapshotParts?(): Iterator<void, Uint8Array[], void>;
  restore(snapshot: Uint8Array): void;
  /** `restore` in steps (see the node's `StateMachine.restoreSteps`). */
  restoreSteps?(snapshot: Uint8Array): Iterator<void, void, void>;
}

/**
 * A byte-level coordination state machine; `machine` is the typed one underneath (queries, events).
 * Results of `machine.applyCommand` may share bytes with the state: encode or copy them, never
 * write into them.
 */
export interface CoordinationReplica extends StateMachine {
  readonly machine: CoordinationStateMachine;
  /** The codec of its log entries and results. */
  readonly codec: CommandCodec;
  /**
   * `apply` of bytes whose `codec.decodeCommand` is `command`, without decoding them again (the
   * leader decoded its clients' commands on receipt). `command` is not modified, and must not be
   * modified or applied again by the caller.
   */
  applyDecoded(command: CommandMessage, index: number): Uint8Array;
}

/** Wraps a typed machine with a codec. */
export function createCoordinationReplica(
  options: CoordinationOptions = {},
  codec: CommandCodec = GENERATED_COMMAND_CODEC,
): CoordinationReplica {
  const machine = new CoordinationStateMachine(options);
  return {
    machine,
    codec,
    applyDecoded: (command, index) => codec.encodeResult(machine.applyCommand(command, index)),
    apply(command: Uint8Array, index: number): Uint8Array {
      let cmd: CommandMessage;
      try {
        cmd = codec.decodeCommand(command);
      } catch (e) {
        // Still consumes the index, like any applied entry that fails.
        const r = machine.applyCommand({ type: 'TimeAdvance', elapsedMs: 0 }, index);
        return codec.encodeResult(
          r.ok
            ? errorResult('DECODE_ERROR', `malformed command: ${e instanceof Error ? e.message : String(e)}`)
            : r,
        );
      }
      return codec.encodeResult(machine.applyCommand(cmd, index));
    },
    snapshot: () => machine.snapshot(),
    snapshotSteps: () => machine.snapshotSteps(),
    snapshotParts: () => machine.snapshotParts(),
    restore: (s: Uint8Array) => machine.restore(s),
    restoreSteps: (s: Uint8Array) => machine.restoreSteps(s),
  };
}
