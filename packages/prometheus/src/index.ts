import { SERVER_COUNTERS, type ServerCounter, type ServerMetrics, type TetherServer } from "@tether/core";
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
  const add = (
    name: string,
    help: string,
    type: Kind,
    read: (m: ServerMetrics) => Array<MetricValue<string>>,
  ) => registry.registerMetric(collector(prefix + name, help, type, () => read(server.metrics())) as never);
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

  const latency = `${prefix}request_duration_seconds`;
  registry.registerMetric(
    collector(latency, "Request handling time.", "histogram", () => {
      const h = server.metrics().requestLatency;
      return [
        ...h.buckets.map((b) => ({
          metricName: `${latency}_bucket`,
          value: b.count,
          labels: { le: b.le / 1000 },
        })),
        { metricName: `${latency}_bucket`, value: h.count, labels: { le: "+Inf" } },
        { metricName: `${latency}_sum`, value: h.sum / 1000, labels: {} },
        { metricName: `${latency}_count`, value: h.count, labels: {} },
      ];
    }) as never,
  );
  return registry;
}
