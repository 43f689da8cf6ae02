import fs from 'node:fs';
import path from 'node:path';

/** The operations a ComfyUI entry runs, one workflow file each. */
export type WorkflowOperation = 'generate' | 'image' | 'extend';

/** Every placeholder a workflow's string values may hold. */
export const placeholderNames = ['prompt', 'negative_prompt', 'seed', 'width', 'height', 'frames', 'image', 'video'] as const;
export type PlaceholderName = (typeof placeholderNames)[number];

/** Placeholders that become JSON numbers when a string is exactly the placeholder. */
const numericPlaceholders: ReadonlySet<PlaceholderName> = new Set(['seed', 'width', 'height', 'frames']);

/** What each operation can fill in, and what it must use (an image workflow without its image is a mistake). */
const allowed: Record<WorkflowOperation, readonly PlaceholderName[]> = {
  generate: ['prompt', 'negative_prompt', 'seed', 'width', 'height', 'frames'],
  image: ['prompt', 'negative_prompt', 'seed', 'width', 'height', 'frames', 'image'],
  extend: ['prompt', 'negative_prompt', 'seed', 'width', 'height', 'frames', 'video'],
};
const required: Record<WorkflowOperation, readonly PlaceholderName[]> = {
  generate: ['prompt'],
  image: ['prompt', 'image'],
  extend: ['prompt', 'video'],
};

/** `{{name}}`, with optional spaces inside the braces. */
const placeholderPattern = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** One node of ComfyUI's API format: `{"class_type": "...", "inputs": {...}}`. */
export interface WorkflowNode {
  readonly class_type: string;
  readonly inputs: Record<string, unknown>;
  readonly [other: string]: unknown;
}

/** A graph in ComfyUI's API format: node id → node. */
export type WorkflowGraph = Record<string, WorkflowNode>;

/** The values of one run; absent ones are not offered by the operation. */
export type PlaceholderValues = Partial<Record<PlaceholderName, string | number>>;

/** A workflow file that cannot be used: start-up stops with this message. */
export class WorkflowFileError extends Error {
  override readonly name = 'WorkflowFileError';
}

/** A checked workflow template: the graph as written and the placeholders it uses. */
export interface WorkflowTemplate {
  readonly operation: WorkflowOperation;
  readonly file: string;
  readonly graph: WorkflowGraph;
  readonly uses: ReadonlySet<PlaceholderName>;
}

/** The largest workflow file read (API-format graphs are a few kilobytes). */
const maxWorkflowBytes = 2 * 1024 * 1024;

/**
 * Reads and checks one workflow file (`file` relative to `directory`, the providers file's):
 * JSON in ComfyUI's API format (not the editor's format), only known placeholders, only those
 * its operation can fill, and the ones it must use.
 */
export function loadWorkflowTemplate(operation: WorkflowOperation, file: string, directory: string): WorkflowTemplate {
  const resolved = path.resolve(directory, file);
  let text: string;
  try {
    if (fs.statSync(resolved).size > maxWorkflowBytes) throw new Error(`larger than ${maxWorkflowBytes} bytes`);
    text = fs.readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new WorkflowFileError(`the ${operation} workflow ${resolved} cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WorkflowFileError(`the ${operation} workflow ${resolved} is not JSON (${(error as Error).message})`);
  }
  const graph = checkApiFormat(parsed, `the ${operation} workflow ${resolved}`);
  const uses = placeholdersIn(graph);
  const unknown = [...uses.unknown].sort();
  if (unknown.length > 0) {
    throw new WorkflowFileError(`the ${operation} workflow ${resolved} uses unknown placeholders ${unknown.map((name) => `{{${name}}}`).join(', ')} (known: ${placeholderNames.map((name) => `{{${name}}}`).join(', ')})`);
  }
  const notHere = [...uses.known].filter((name) => !allowed[operation].includes(name));
  if (notHere.length > 0) {
    throw new WorkflowFileError(`the ${operation} workflow ${resolved} uses ${notHere.map((name) => `{{${name}}}`).join(', ')}, which a ${operation} workflow is not given (it may use ${allowed[operation].map((name) => `{{${name}}}`).join(', ')})`);
  }
  const missing = required[operation].filter((name) => !uses.known.has(name));
  if (missing.length > 0) {
    throw new WorkflowFileError(`the ${operation} workflow ${resolved} must use ${missing.map((name) => `{{${name}}}`).join(' and ')}`);
  }
  return { operation, file: resolved, graph, uses: uses.known };
}

/** The graph if `value` is ComfyUI's API format; the editor's format (`nodes`, `links`) is named as such. */
function checkApiFormat(value: unknown, what: string): WorkflowGraph {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WorkflowFileError(`${what} is not a JSON object of nodes`);
  const record = value as Record<string, unknown>;
  if (Array.isArray(record['nodes']) && Array.isArray(record['links'])) {
    throw new WorkflowFileError(`${what} is in the editor's format; export it with "Export (API)" (ComfyUI's API format: node id → {class_type, inputs})`);
  }
  const ids = Object.keys(record);
  if (ids.length === 0) throw new WorkflowFileError(`${what} has no nodes`);
  for (const id of ids) {
    const node = record[id] as Record<string, unknown> | null;
    if (typeof node !== 'object' || node === null || typeof node['class_type'] !== 'string' || typeof node['inputs'] !== 'object' || node['inputs'] === null || Array.isArray(node['inputs'])) {
      throw new WorkflowFileError(`${what}: node ${id} is not {"class_type": "...", "inputs": {...}} (ComfyUI's API format)`);
    }
    for (const [input, linked] of Object.entries(node['inputs'] as Record<string, unknown>)) {
      if (Array.isArray(linked) && linked.length === 2 && typeof linked[0] === 'string' && !(linked[0] in record)) {
        throw new WorkflowFileError(`${what}: input ${input} of node ${id} links to node ${linked[0]}, which is not in the workflow`);
      }
    }
  }
  return record as WorkflowGraph;
}

function placeholdersIn(graph: WorkflowGraph): { known: Set<PlaceholderName>; unknown: Set<string> } {
  const known = new Set<PlaceholderName>();
  const unknown = new Set<string>();
  visitStrings(graph, (text) => {
    for (const match of text.matchAll(placeholderPattern)) {
      const name = match[1]!;
      if ((placeholderNames as readonly string[]).includes(name)) known.add(name as PlaceholderName);
      else unknown.add(name);
    }
  });
  return { known, unknown };
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((item) => visitStrings(item, visit));
  else if (typeof value === 'object' && value !== null) Object.values(value).forEach((item) => visitStrings(item, visit));
}

/**
 * The graph with the run's values in place. Values go into JSON string values structurally (the
 * graph is copied as data and serialised later), never by text concatenation, in one pass (a
 * prompt that contains `{{video}}` stays that text); a string that is exactly a numeric
 * placeholder becomes a number. Object keys are never touched.
 */
export function fillWorkflow(template: WorkflowTemplate, values: PlaceholderValues): WorkflowGraph {
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') return fillString(value, values);
    if (Array.isArray(value)) return value.map(fill);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fill(inner)]));
    return value;
  };
  return fill(template.graph) as WorkflowGraph;
}

function fillString(text: string, values: PlaceholderValues): string | number {
  const whole = /^\{\{\s*([A-Za-z0-9_]+)\s*\}\}$/.exec(text);
  if (whole && numericPlaceholders.has(whole[1] as PlaceholderName)) {
    const value = values[whole[1] as PlaceholderName];
    if (typeof value === 'number') return value;
  }
  return text.replace(placeholderPattern, (_placeholder, name: string) => {
    const value = values[name as PlaceholderName];
    return value === undefined ? '' : String(value);
  });
}
