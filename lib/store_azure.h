/* store_azure: the Azure Blob backend of lib/store for az://ACCOUNT/CONTAINER[/PREFIX] roots.
 * tb_store_azure_open (declared in store.h) reads credentials with lib/azkey (AZURE_STORAGE_CONNECTION_STRING,
 * or AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY [+ AZURE_STORAGE_BLOB_ENDPOINT]; without a key, anonymous
 * access to public containers), checks the container name, and installs prepare/finish callbacks that
 * sign every attempt with Shared Key. See store_azure.c for how each store operation maps onto the
 * Blob REST API; in short: MP_CREATE and MP_ABORT complete locally (an upload is abandoned simply by
 * never committing its blocks: the service discards uncommitted blocks after seven days, or at the
 * next commit of that blob), MP_PART is Put Block and MP_COMPLETE is Put Block List, which also
 * stores x-ms-meta-sha256 and the whole object's Content-MD5. */
#ifndef TB_STORE_AZURE_H
#define TB_STORE_AZURE_H
#include "store.h"
#endif
