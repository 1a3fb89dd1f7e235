// What the agents of a run send alike (the system blocks, the tool definitions, the prompt-cache
// prefix key) is built once per kind of agent, not once per agent: in a fan-out of a thousand
// agents, framing, serialising and hashing the same eight-kilobyte prefix again for each was a
// tenth of every agent's main-thread time, which the responses arriving together queue behind.

/** Shapes kept per run; scripts that make a schema per item get theirs built each time instead. */
const MAX_SHAPES = 64;

export class RequestShapes<Shape> {
  readonly #shapes = new Map<string, Shape>();

  /** The shape `key` names, built by `build` the first time. `key` must name everything `build` reads. */
  shapeOf(key: string, build: () => Shape): Shape {
    const known = this.#shapes.get(key);
    if (known !== undefined) return known;
    const shape = build();
    if (this.#shapes.size < MAX_SHAPES) this.#shapes.set(key, shape);
    return shape;
  }
}
