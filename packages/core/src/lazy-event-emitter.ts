import { EventEmitter } from "eventemitter3";

type Names<Events extends EventEmitter.ValidEventTypes> = EventEmitter.EventNames<Events>;
type Listener<
  Events extends EventEmitter.ValidEventTypes,
  Name extends Names<Events>,
> = EventEmitter.EventListener<Events, Name>;

/**
 * An eventemitter3 `EventEmitter` whose listener table is made by the first listener added.
 * eventemitter3 makes one per emitter at construction; a server holds a connection, a channel
 * and a session per idle client, most of which never get a listener, and every table is bytes
 * each idle session keeps (BENCHMARKS.md). Listeners added without a context are called with
 * this object as `this`, as eventemitter3 does.
 */
export class LazyEventEmitter<Events extends EventEmitter.ValidEventTypes> implements EventEmitter<Events> {
  #emitter: EventEmitter<Events> | undefined;

  eventNames(): Array<Names<Events>> {
    return this.#emitter?.eventNames() ?? [];
  }

  listeners<Name extends Names<Events>>(event: Name): Array<Listener<Events, Name>> {
    return this.#emitter?.listeners(event) ?? [];
  }

  listenerCount(event: Names<Events>): number {
    return this.#emitter?.listenerCount(event) ?? 0;
  }

  emit<Name extends Names<Events>>(event: Name, ...args: EventEmitter.EventArgs<Events, Name>): boolean {
    const emitter = this.#emitter;
    return emitter === undefined ? false : emitter.emit(event, ...args);
  }

  on<Name extends Names<Events>>(event: Name, fn: Listener<Events, Name>, context?: unknown): this {
    this.#table().on(event, fn, context ?? this);
    return this;
  }

  addListener<Name extends Names<Events>>(event: Name, fn: Listener<Events, Name>, context?: unknown): this {
    return this.on(event, fn, context);
  }

  once<Name extends Names<Events>>(event: Name, fn: Listener<Events, Name>, context?: unknown): this {
    this.#table().once(event, fn, context ?? this);
    return this;
  }

  removeListener<Name extends Names<Events>>(
    event: Name,
    fn?: Listener<Events, Name>,
    context?: unknown,
    once?: boolean,
  ): this {
    this.#emitter?.removeListener(event, fn, context, once);
    return this;
  }

  off<Name extends Names<Events>>(
    event: Name,
    fn?: Listener<Events, Name>,
    context?: unknown,
    once?: boolean,
  ): this {
    return this.removeListener(event, fn, context, once);
  }

  removeAllListeners(event?: Names<Events>): this {
    this.#emitter?.removeAllListeners(event);
    return this;
  }

  #table(): EventEmitter<Events> {
    this.#emitter ??= new EventEmitter<Events>();
    return this.#emitter;
  }
}
