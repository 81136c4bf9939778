import type { ArtifactRow, ConsoleApi } from '../../src-main/common/console-api';

/** Uploads bytes through the console services' chunked API, as the renderer does (for tests whose subject is not the upload). */
export async function uploadThroughApi(api: ConsoleApi, bytes: Buffer, fileName: string): Promise<ArtifactRow> {
  const { uploadId, chunkBytes } = await api.artifacts.uploadBegin({ fileName, size: bytes.length });
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    await api.artifacts.uploadChunk(uploadId, offset, bytes.subarray(offset, offset + chunkBytes).toString('base64'));
  }
  return (await api.artifacts.uploadFinish(uploadId)).artifact;
}
