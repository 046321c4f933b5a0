// bench/azure_peer.js: the peer for bench/azure.sh, Microsoft's @azure/storage-blob SDK uploading
// files the way its documentation shows (BlockBlobClient.uploadFile: Put Blob below the single-shot
// threshold, else parallel Put Block + Put Block List), JOBS files at a time.
//   node bench/azure_peer.js CONTAINER_URL_PREFIX BLOCK_BYTES JOBS FILE...
// Credentials: AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey, BlobEndpoint).
const path = require("path");
const sdk = require(path.join(__dirname, "../tests/.cache/node_modules/@azure/storage-blob"));

async function main() {
  const [container, prefix, blockStr, jobsStr, ...files] = process.argv.slice(2);
  const svc = sdk.BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING);
  const cont = svc.getContainerClient(container);
  const block = Number(blockStr), jobs = Number(jobsStr);
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const f = files[next++];
      await cont.getBlockBlobClient(prefix + path.basename(f)).uploadFile(f, {
        blockSize: block, maxSingleShotSize: block, concurrency: jobs,
      });
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
}
main().catch((e) => { console.error(e.message); process.exit(1); });
