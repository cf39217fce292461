/**
 * Schema registry + Avro: the public face of `connectors/registry/`.
 *
 * - `AvroRegistrySerde`: Confluent-framed Avro, registered under `<topic>-value`,
 *   synchronous `serialize`/`deserialize` after the async `prepare()`/`ensureSchema(id)`.
 * - `RegistryClient`: register / look up / read schemas through the Confluent API.
 * - `SerdeError`: every failure, with `code`, `domain`, `retriable` and what to do.
 */
export { AvroRegistrySerde, loadSchema, type AvroSerdeOptions } from './avro-serde.js';
export {
  RegistryClient,
  type Compatibility,
  type RegisteredSchema,
  type RegistryClientOptions,
} from './client.js';
export { SerdeError, type SerdeErrorCode, type SerdeErrorDomain } from './errors.js';
export { HEADER_BYTES, MAGIC_BYTE, schemaIdOf } from './framing.js';
