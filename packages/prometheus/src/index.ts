/**
 * Prometheus exposition of a Tether server's metrics through prom-client.
 * @module @tether/prometheus
 */
import {
  type LatencyHistogram,
  SERVER_COUNTERS,
  type ServerCounter,
  type TetherClient,
  type TetherServer,
} from "@tether/core";
import { register as defaultRegistry, type MetricValue, type Registry } from "prom-client";

export interface PrometheusOptions {
  /** Where to register. Default: prom-client's global registry. */
  registry?: Registry;
  /** Prefix of every metric name. Default `tether_`. */
  prefix?: string;
}

type Kind = "gauge" | "counter";

/** A collector prom-client calls at scrape time: the server's counters are read, never copied. */
function collector(
  name: string,
  help: string,
  type: Kind | "histogram",
  values: () => Array<MetricValue<string>>,
) {
  return {
    name,
    help,
    type,
    aggregator: "sum" as const,
    get: async () => ({ name, help, type, aggregator: "sum" as const, values: values() }),
  };
}

/**
 * Exposes `server.metrics()` in Prometheus form: gauges for sessions and connections, counters
 * for everything counted, and the request-latency histogram (in seconds, as Prometheus likes).
 */
export function registerTetherMetrics(server: TetherServer, options: PrometheusOptions = {}): Registry {
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? "tether_";
  const add = registrar(registry, prefix, () => server.metrics());
  const one = (value: number) => [{ value, labels: {} }];

  add("sessions", "Live sessions.", "gauge", (m) => one(m.sessions));
  add("connections", "Open connections, by transport.", "gauge", (m) =>
    Object.entries(m.connectionsByTransport).map(([transport, value]) => ({ value, labels: { transport } })),
  );
  add("sessions_ended_total", "Sessions ended, by reason.", "counter", (m) =>
    Object.entries(m.sessionsEnded).map(([reason, value]) => ({ value, labels: { reason } })),
  );
  add("goodbyes_total", "Goodbyes sent, by close code.", "counter", (m) =>
    Object.entries(m.goodbyes).map(([code, value]) => ({ value, labels: { code } })),
  );
  for (const { series, help, fields } of SERVER_COUNTERS) {
    add(series, help, "counter", (m) =>
      Object.entries(fields).map(([field, labels]) => ({ value: m[field as ServerCounter], labels })),
    );
  }

  registry.registerMetric(
    histogram(
      `${prefix}request_duration_seconds`,
      "Request handling time.",
      () => server.metrics().requestLatency,
    ),
  );
  return registry;
}

/**
 * Exposes `client.metrics()` in Prometheus form, as `registerTetherMetrics` does a server's:
 * requests by outcome, reconnects, seconds in each state, and the request latency histogram.
 * Default prefix `tether_client_`.
 */
export function registerTetherClientMetrics(client: TetherClient, options: PrometheusOptions = {}): Registry {
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? "tether_client_";
  const add = registrar(registry, prefix, () => client.metrics());
  add("requests_total", "Requests, by outcome.", "counter", (m) => [
    { value: m.responses, labels: { outcome: "response" } },
    { value: m.errorResponses, labels: { outcome: "error-response" } },
    { value: m.abandoned, labels: { outcome: "abandoned" } },
    { value: m.requests - m.responses - m.errorResponses - m.abandoned, labels: { outcome: "pending" } },
  ]);
  add("reconnects_total", "Connections after the first.", "counter", (m) => [
    { value: m.reconnects, labels: {} },
  ]);
  add("state_seconds_total", "Seconds spent in each state.", "counter", (m) =>
    Object.entries(m.timeInState).map(([state, ms]) => ({ value: ms / 1000, labels: { state } })),
  );
  registry.registerMetric(
    histogram(
      `${prefix}request_duration_seconds`,
      "From request() to its answer.",
      () => client.metrics().requestLatency,
    ),
  );
  return registry;
}

/** Registers, under `prefix`, a gauge or counter whose values are read from a fresh snapshot at each scrape. */
function registrar<M>(registry: Registry, prefix: string, snapshot: () => M) {
  return (name: string, help: string, type: Kind, read: (m: M) => Array<MetricValue<string>>) =>
    registry.registerMetric(collector(prefix + name, help, type, () => read(snapshot())) as never);
}

/** A latency histogram in seconds, as Prometheus likes, read at scrape time. */
function histogram(name: string, help: string, read: () => LatencyHistogram) {
  return collector(name, help, "histogram", () => {
    const h = read();
    return [
      ...h.buckets.map((b) => ({
        metricName: `${name}_bucket`,
        value: b.count,
        labels: { le: b.le / 1000 },
      })),
      { metricName: `${name}_bucket`, value: h.count, labels: { le: "+Inf" } },
      { metricName: `${name}_sum`, value: h.sum / 1000, labels: {} },
      { metricName: `${name}_count`, value: h.count, labels: {} },
    ];
  }) as never;
}
