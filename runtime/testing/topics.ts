/**
 * Topic names of a topology as the driver sees them: run-time names (internal topics
 * prefixed with the application id), which sub-topology reads each, and the serdes of
 * the sources and sinks that use them (the defaults of `input()` and `output()`).
 */
import { BuiltTopology } from '../../topology/index.js';

type SerdeNames = { key: string; value: string };

export class TopicNames {
  private readonly readers = new Map<string, number>();
  private readonly sources = new Map<string, SerdeNames>();
  private readonly sinks = new Map<string, SerdeNames>();
  private readonly internal = new Set<string>();
  private readonly globalTopics = new Set<string>();

  constructor(
    topology: BuiltTopology,
    app: string,
    readonly deadLetterTopic: string,
  ) {
    for (const sub of topology.subtopologies)
      for (const src of sub.sources)
        for (const t of src.topics) {
          const name = BuiltTopology.topicName(app, t, src.internal);
          this.readers.set(name, sub.id);
          this.sources.set(name, { key: src.keySerde, value: src.valueSerde });
          if (src.internal) this.internal.add(name);
        }
    for (const g of topology.globals) {
      const name = BuiltTopology.topicName(app, g.topic);
      this.sources.set(name, { key: g.source.keySerde, value: g.source.valueSerde });
      this.globalTopics.add(name);
    }
    for (const n of topology.spec.nodes)
      if (n.kind === 'sink')
        this.sinks.set(BuiltTopology.topicName(app, n.topic, n.internal), {
          key: n.keySerde,
          value: n.valueSerde,
        });
  }

  /** The sub-topology reading `topic`, if any. */
  subtopologyReading(topic: string): number | undefined {
    return this.readers.get(topic);
  }

  isInternal(topic: string): boolean {
    return this.internal.has(topic);
  }

  /** Topics users pipe into (not the internal ones). */
  inputTopics(): string[] {
    return [...this.readers.keys(), ...this.globalTopics].filter((t) => !this.internal.has(t));
  }

  sourceSerdes(topic: string): SerdeNames | undefined {
    return this.sources.get(topic);
  }

  sinkSerdes(topic: string): SerdeNames | undefined {
    return this.sinks.get(topic) ?? this.sources.get(topic);
  }
}
