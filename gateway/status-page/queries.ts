/**
 * What the status page asks the gateway: ordinary GraphQL, through the public endpoint with the
 * same limits as anyone's, plus `GET /ready` for each subgraph's state. Plain data, no imports:
 * the browser bundle sends them, the tests check them against the schema and the limits.
 *
 * Two cadences: LIVE (what moves: agents, queues, stuck and waiting rules, ingest) every few
 * seconds, SLOW (what costs a scan: storage per RSE, links over the day, the sky map, policy
 * progress) every half minute.
 */

/** Seconds between LIVE rounds, and between SLOW rounds (the page's `?refresh=` and `?slow=` change them). */
export const LIVE_SECONDS = 5;
export const SLOW_SECONDS = 30;

/** The sky map: raws (metadata datasetType raw) in HEALPix pixels of nside 16 (≈ 3.7°, an LSSTCam field). */
export const SKY_NSIDE = 16;
export const SKY_METADATA = { datasetType: "raw" };

export const LIVE_QUERY = `query StatusLive {
  facilities {
    code
    description
    agents { id state streams activeTransfers bytesPerSecond transfersDone transfersFailed lastSeen recentErrors { code message at } }
    transferCounts(hours: 24) { hours queued retrying active done bytes failed }
    ingestSummary(hours: 24) { hours pending failed givenUp ingested notADataset failures { code count } oldestOpen }
  }
  stuck: ruleBacklog(state: STUCK, first: 25) { totalCount nodes { ...BacklogRule } }
  replicating: ruleBacklog(state: REPLICATING, first: 10) { totalCount nodes { ...BacklogRule } }
}

fragment BacklogRule on Rule {
  id state rseExpression sourceReplicaExpression error createdAt updatedAt locksOk locksReplicating locksStuck
  did { scope name }
  subscription { name }
}`;

export const SLOW_QUERY = `query StatusSlow($nside: Int!, $metadata: JSONObject) {
  facilities {
    code
    rses { name kind availabilityWrite usage { files bytes copyingFiles copyingBytes } }
  }
  subscriptions {
    name comment state active lastError filter
    rules { rseExpression sourceReplicaExpression }
    progress { template rseExpression rules ok replicating stuck suspended locksOk locks }
  }
  lastHour: transferLinks(hours: 1, bucketMinutes: 5) { ...Links }
  lastDay: transferLinks(hours: 24, bucketMinutes: 60) { ...Links }
  sky: skyMap(nside: $nside, metadata: $metadata) {
    nside facilities files withoutPosition
    cells { pixel ra dec boundary files held }
  }
}

fragment Links on TransferLinks {
  since until bucketSeconds buckets
  links { source destination done bytes failed errors { code count } doneSeries bytesSeries failedSeries }
}`;

export const SLOW_VARIABLES = { nside: SKY_NSIDE, metadata: SKY_METADATA };

/** Retry on a STUCK rule: its STUCK locks get fresh transfer requests (owner or catalog:admin token). */
export const RETRY_MUTATION = `mutation RetryRule($id: String!) {
  retryRule(id: $id) { id state locksOk locksReplicating locksStuck error }
}`;
