/**
 * Runs async tasks one at a time, in call order. A failed task does not block the next one.
 * Used so two reloads (or two file transactions) are never in flight together.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
