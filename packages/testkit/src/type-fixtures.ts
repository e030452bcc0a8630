/** Reads the JSON fixtures in packages/types/fixtures (the parsers' tests). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES_DIR = fileURLToPath(new URL('../../types/fixtures/', import.meta.url));

/** The text of a fixture, e.g. `events/task-fargate-awsvpc.json`. */
export function fixtureText(name: string): string {
  return readFileSync(`${FIXTURES_DIR}${name}`, 'utf8');
}

/** A fixture parsed as JSON (a fresh copy each call, so tests may mutate it). */
export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}
