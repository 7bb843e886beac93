/**
 * `generate`: spec texts -> TypeScript files + diagnostics. A pure function (no fs access): the
 * templates and the wire runtime source are embedded. The emitted files are type-checked in memory
 * with ts-morph before they are returned; a type error becomes a VIB029 diagnostic that points at
 * the spec element that produced the offending declaration.
 */
import path from 'node:path';
import { Project, ts } from 'ts-morph';
import { createDiagnostic, type Diagnostic, hasErrors } from '../diagnostics.js';
import type { CheckOptions } from '../spec/checks.js';
import { VIB } from '../spec/codes.js';
import { rangeAt } from '../spec/lower.js';
import type { PointerMap, SpecModel } from '../spec/model.js';
import { camelCase } from '../spec/names.js';
import { validateSpec } from '../spec/validate.js';
import { type EmittedFile, emitModel } from './emit.js';
import { RUNTIME_WIRE_V1_SOURCE } from './templates.generated.js';

/** Default module specifier of the wire runtime from `generated/`. */
export const DEFAULT_RUNTIME_IMPORT = '../runtime/wire/v1.js';
/** The wire runtime as the installed package exports it (for code generated in other projects). */
export const PACKAGE_RUNTIME_IMPORT = 'vibee-consensus/wire';

/** True for a relative or absolute specifier, false for a package one (`vibee-consensus/wire`). */
function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith('.') || specifier.startsWith('/');
}

/** The specifier for files one folder below the output root (a package specifier stays as is). */
function oneFolderDown(specifier: string): string {
  return isPathSpecifier(specifier) ? `../${specifier}` : specifier;
}

/** Options of `generate`. */
export interface GenerateOptions extends CheckOptions {
  /** Module specifier of `runtime/wire/v1.js` as seen from the output directory. */
  runtimeImport?: string;
  /** Type-check the emitted files in memory (default true). */
  typecheck?: boolean;
}

/** Result of `generate`: files (paths relative to the output directory) and all diagnostics. */
export interface GenerateResult {
  files: EmittedFile[];
  diagnostics: Diagnostic[];
}

/**
 * Generates TypeScript from one or more specs. With one spec the files sit at the output root;
 * with several, each spec's files go into a folder named after its `module`. No files are returned
 * when any spec has an error.
 */
export function generate(
  inputs: readonly { fileName: string; text: string }[],
  options: GenerateOptions = {},
): GenerateResult {
  const diagnostics: Diagnostic[] = [];
  const files: EmittedFile[] = [];
  const runtimeImport = options.runtimeImport ?? DEFAULT_RUNTIME_IMPORT;
  const multi = inputs.length > 1;
  const folders = new Map<string, string>(); // module -> the spec that uses it as its folder
  for (const input of inputs) {
    const v = validateSpec(input, options);
    diagnostics.push(...v.diagnostics);
    if (!v.model) continue;
    if (multi) {
      // The module names an output folder: it must stay inside the output and be one spec's only.
      const m = v.model.module;
      const other = folders.get(m);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(m) || m.includes('..') || other !== undefined) {
        diagnostics.push(
          createDiagnostic(
            VIB.SCHEMA,
            other !== undefined
              ? `module '${m}' is also the module of ${other}: with several specs each needs its own output folder`
              : `module '${m}' cannot be an output folder (letters, digits, '_', '-', '.'; no '..' or '/')`,
            input.fileName,
            rangeAt(v.pointers, '/module'),
          ),
        );
        continue;
      }
      folders.set(m, input.fileName);
    }
    const dir = multi ? `${v.model.module}/` : '';
    const fileRuntimeImport = multi ? oneFolderDown(runtimeImport) : runtimeImport;
    const emitted = emitModel(v.model, {
      runtimeImport: fileRuntimeImport,
      specPath: input.fileName.replace(/\\/g, '/'),
    });
    if (options.typecheck !== false)
      diagnostics.push(...typecheckEmitted(emitted, v.model, v.pointers, fileRuntimeImport));
    files.push(...emitted.map((f) => ({ path: dir + f.path, content: f.content })));
  }
  return hasErrors(diagnostics) ? { files: [], diagnostics } : { files, diagnostics };
}

/** The few host globals the wire runtime uses (Node and browsers both have them). */
const HOST_GLOBALS = `declare class TextEncoder { encode(input?: string): Uint8Array; }
declare class TextDecoder { constructor(label?: string, options?: { fatal?: boolean }); decode(input?: Uint8Array): string; }
`;

let project: Project | undefined;
function sharedProject(): Project {
  // One in-memory project reused across calls: lib files are parsed once.
  project ??= new Project({
    useInMemoryFileSystem: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: [
        'lib.es5.d.ts',
        'lib.es2015.core.d.ts',
        'lib.es2015.collection.d.ts',
        'lib.es2015.iterable.d.ts',
        'lib.es2015.symbol.d.ts',
        'lib.es2015.symbol.wellknown.d.ts',
        'lib.es2016.array.include.d.ts',
        'lib.es2017.object.d.ts',
        'lib.es2020.bigint.d.ts',
      ],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    },
  });
  return project;
}

/** A type error in an emitted file (path relative to the output directory, 1-based line). */
export interface EmittedTypeError {
  path: string;
  line: number;
  message: string;
}

/**
 * Type-checks emitted files together in one in-memory program (strict). `runtimeImport` is the
 * specifier the files at the output root use for the wire runtime; files in subfolders are expected
 * to use one more `../` per level. Errors outside the emitted files (e.g. the runtime) are reported
 * with their own path.
 */
export function typecheckFiles(files: readonly EmittedFile[], runtimeImport: string): EmittedTypeError[] {
  const p = sharedProject();
  for (const sf of p.getSourceFiles()) p.removeSourceFile(sf);
  const genDir = '/vibee/out';
  // A package specifier (`vibee-consensus/wire`) has no place in this in-memory tree: the files are
  // checked with it pointing at a copy of the runtime next to the output root instead.
  const local = isPathSpecifier(runtimeImport) ? runtimeImport : './vibee-runtime/wire/v1.js';
  const runtimePath = path.posix.resolve(genDir, local.replace(/\.js$/, '.ts'));
  p.createSourceFile(runtimePath, RUNTIME_WIRE_V1_SOURCE, { overwrite: true });
  p.createSourceFile('/vibee/globals.d.ts', HOST_GLOBALS, { overwrite: true });
  const byPath = new Map<string, EmittedFile>();
  for (const f of files) {
    const full = `${genDir}/${f.path}`;
    byPath.set(full, f);
    const depth = f.path.split('/').length - 1;
    const content =
      local === runtimeImport
        ? f.content
        : f.content.replaceAll(
            `from '${runtimeImport}'`,
            `from '${'../'.repeat(depth) || './'}vibee-runtime/wire/v1.js'`,
          );
    p.createSourceFile(full, content, { overwrite: true });
  }
  const out: EmittedTypeError[] = [];
  for (const d of p.getPreEmitDiagnostics()) {
    if (d.getCategory() !== ts.DiagnosticCategory.Error) continue;
    const sf = d.getSourceFile();
    const fp = sf?.getFilePath();
    const emitted = fp ? byPath.get(fp) : undefined;
    const message = ts.flattenDiagnosticMessageText(d.compilerObject.messageText, '\n').split('\n')[0] ?? '';
    const line = sf && d.getStart() !== undefined ? sf.getLineAndColumnAtPos(d.getStart() as number).line : 0;
    out.push({ path: emitted ? emitted.path : (fp ?? '<program>'), line, message });
  }
  for (const sf of p.getSourceFiles()) p.removeSourceFile(sf);
  return out;
}

/** Type-checks one spec's emitted files in memory; maps each error back to the spec. */
export function typecheckEmitted(
  files: readonly EmittedFile[],
  model: SpecModel,
  pointers: PointerMap,
  runtimeImport: string,
): Diagnostic[] {
  const declPointers = declarationPointers(model);
  const seenPointers = new Set<string>();
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: Diagnostic[] = [];
  for (const e of typecheckFiles(files, runtimeImport)) {
    const emitted = byPath.get(e.path);
    const pointer = emitted ? pointerForLine(emitted.content, e.line, declPointers) : '';
    // One diagnostic per spec location: the first error there explains the rest.
    if (seenPointers.has(pointer)) continue;
    seenPointers.add(pointer);
    const where = emitted ? `generated/${emitted.path}:${e.line}` : e.path;
    out.push(
      createDiagnostic(
        VIB.EMIT_TYPECHECK,
        `the generated code does not type-check (${where}): ${e.message}`,
        model.fileName,
        rangeAt(pointers, pointer, true),
      ),
    );
  }
  return out;
}

/** Declaration names in emitted code -> spec pointers. */
function declarationPointers(model: SpecModel): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of model.constants) m.set(c.name, c.pointer);
  for (const t of model.types) {
    m.set(t.name, t.pointer);
    if (t.kind === 'record') for (const f of t.fields) m.set(`${t.name}.${camelCase(f.name)}`, f.pointer);
  }
  for (const f of model.fsms) m.set(f.name, f.pointer);
  for (const b of model.behaviors) m.set(`.${camelCase(b.name)}`, b.pointer);
  return m;
}

/** Walks up from a 1-based line to the nearest declaration that came from the spec. */
function pointerForLine(content: string, line: number, decls: Map<string, string>): string {
  const lines = content.split('\n');
  let member: string | undefined;
  for (let i = line - 1; i >= 0; i--) {
    const l = lines[i] ?? '';
    const mem = /^ {2}(\w+)[:(]/.exec(l);
    if (mem && member === undefined) member = mem[1];
    const decl =
      /^(?:export )?(?:interface|type|const|function|class) (?:write|read|encode|decode|next|create|is)?(\w+?)(?:State|Event|_TRANSITIONS|_INITIAL|_VALUES)?\b/.exec(
        l,
      );
    if (decl) {
      const name = decl[1] as string;
      if (member !== undefined && decls.has(`${name}.${member}`))
        return decls.get(`${name}.${member}`) as string;
      if (member !== undefined && decls.has(`.${member}`)) return decls.get(`.${member}`) as string;
      if (decls.has(name)) return decls.get(name) as string;
      const full = /^(?:export )?(?:interface|type|const|function|class) (\w+)/.exec(l)?.[1];
      if (full && decls.has(full)) return decls.get(full) as string;
    }
  }
  return '';
}
