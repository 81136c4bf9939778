// The public API of artifact/ (hub/ and agent/ import from here).
export { ArtifactError, isArtifactError, type ArtifactErrorCode } from './errors';
export { FORMAT_VERSION, MAX_MANIFEST_BYTES, payloadEntryName, type Compression } from './format';
export { compareVersions, isValidVersion } from './version';
export { HOOK_MOMENTS, HOOK_STATES, groupNameKey, groupVersionKey, type JsonValue, type Manifest, type PayloadInfo, type PayloadType } from './manifest';
export { generateSigningKey, keyIdOf, loadPrivateKey, loadPublicKey, type PrivateKeyInput, type PublicKeyInput, type SigningKeyPair } from './keys';
export { signManifest, trustedKeySet, type ManifestSignature, type TrustedKeys } from './signature';
export { writeArtifact, type WriteArtifactOptions, type WriteArtifactResult } from './write-artifact';
export type { PayloadInput, ProgressEvent } from './payload-source';
export { readArtifact, verifyArtifactIntegrity, type ReadArtifactOptions, type ReadArtifactResult } from './read-artifact';
export type { PayloadConsumer } from './read-payload';
export { inspectArtifact, type ArtifactInspection, type SignatureStatus } from './inspect-artifact';
export { signArtifactFile } from './sign-artifact';
export { checkCompatibility, type Compatibility, type DeviceContext } from './check-compatibility';
export { applyProvides } from './provides';
export { packTree } from './app-tree';
export { extractTree } from './app-tree-extract';
