import { GraphqlClient } from "../lib/graphql-client";
import type { StorageLocation } from "../lib/storage/driver";
import type { Departure, RemovalTotals } from "../subgraphs/facility/arrival/departure";

/**
 * What an agent asks of the Data Backbone, as GraphQL through the gateway: the catalog's claims,
 * heartbeats and reports, the source facilities' read URLs, and its own facility's agent status.
 * Errors come back as DbbErrors with the server's code (lib/graphql-client.ts).
 */
export interface ClaimedTransfer {
  id: string;
  lease: string;
  destinationPath: string;
  file: { scope: string; name: string; bytes: number | null; adler32: string | null; md5: string | null; metadata: Record<string, unknown> };
  source: { name: string; facility: { code: string } };
  destination: { name: string; kind: "S3" | "POSIX"; protocol: { endpoint: string | null; bucket: string | null; prefix: string; region: string | null; root: string | null } };
  attempts: number;
}

export interface ClaimedDeletion {
  id: string;
  lease: string;
  path: string;
  bytes: number;
  /** The campaign removal that planned the deletion, if one did. */
  removal: string | null;
  file: { scope: string; name: string };
  rse: ClaimedTransfer["destination"];
}

/** A file the agent deleted, as its facility's recordDepartures takes it, and what the facility removed for a campaign removal. */
export type { Departure, RemovalTotals } from "../subgraphs/facility/arrival/departure";

/** A removal whose part at this facility waits for the agent to finish it. */
export interface RemovalWorkItem {
  id: string;
  runs: string[];
  collections: string[];
}

export interface ReadUrl {
  request: string;
  url: string | null;
  /** When the URL stops working (ISO time), null with an error. */
  expiresAt: string | null;
  error: { code: string; message: string } | null;
  /** With readUrls(sidecars: true): where the file's sidecars may be at the source, signed. */
  sidecars?: Array<{ path: string; kind: string; url: string }> | null;
}

/** A file that arrived at the agent's facility, as recordArrivals takes it. */
export interface Arrival {
  scope: string;
  name: string;
  rse: string;
  path: string;
  bytes: number;
  metadata: Record<string, unknown>;
  /** A FITS file's primary header, its bytes up to END as Latin-1 text. */
  header?: string | null;
  /** Its astro_metadata_translator sidecar (or its folder's index, reduced to its entry), fetched from the source. */
  sidecar?: Record<string, unknown> | null;
  /** rubin_butler zip_file: its _butler_zip_index.json; dim_file: the file's text. */
  butlerFile?: string | null;
  /** The instrument agent.lfaIngest gives an LFA file's source. */
  instrument?: string | null;
}

/** What the catalog did with one report of reportTransfers. */
export interface TransferReportAnswer {
  id: string;
  request: { state: string; errorCode: string | null } | null;
  error: { code: string; message: string } | null;
}

export interface TransferReport {
  outcome: "DONE" | "FAILED";
  bytes?: number;
  adler32?: string;
  md5?: string;
  error?: string;
  errorCode?: string;
}

const RSE_FIELDS = `name kind protocol { endpoint bucket prefix region root }`;

export function locationOf(rse: ClaimedTransfer["destination"]): StorageLocation {
  return { rse: rse.name, kind: rse.kind, ...rse.protocol };
}

export class AgentApi {
  constructor(readonly client: GraphqlClient, readonly facility: string) {}

  async claimTransfers(limit: number): Promise<ClaimedTransfer[]> {
    const data = await this.client.request<{ claimTransfers: ClaimedTransfer[] }>(
      `mutation AgentClaimTransfers ($facility: String!, $limit: Int!) { claimTransfers(facility: $facility, limit: $limit) {
         id lease destinationPath attempts file { scope name bytes adler32 md5 metadata } source { name facility { code } } destination { ${RSE_FIELDS} } } }`,
      { facility: this.facility, limit },
    );
    return data.claimTransfers;
  }

  async readUrls(sourceFacility: string, requests: string[], options: { sidecars?: boolean } = {}): Promise<ReadUrl[]> {
    const data = await this.client.request<{ readUrls: ReadUrl[] | null }>(
      options.sidecars
        ? `query AgentReadUrls ($facility: String!, $requests: [String!]!) { readUrls(facility: $facility, requests: $requests, sidecars: true) { request url expiresAt error { code message } sidecars { path kind url } } }`
        : `query AgentReadUrls ($facility: String!, $requests: [String!]!) { readUrls(facility: $facility, requests: $requests) { request url expiresAt error { code message } } }`,
      { facility: sourceFacility, requests },
    );
    return data.readUrls ?? [];
  }

  async heartbeat(leases: string[]): Promise<string[]> {
    const data = await this.client.request<{ heartbeat: string[] }>(`mutation AgentHeartbeat ($leases: [String!]!) { heartbeat(leases: $leases) }`, { leases });
    return data.heartbeat;
  }

  async reportTransfer(id: string, lease: string, outcome: TransferReport): Promise<{ state: string; errorCode: string | null }> {
    const data = await this.client.request<{ reportTransfer: { state: string; errorCode: string | null } }>(
      `mutation AgentReportTransfer ($id: String!, $lease: String!, $outcome: TransferOutcomeInput!) { reportTransfer(id: $id, lease: $lease, outcome: $outcome) { state errorCode } }`,
      { id, lease, outcome },
    );
    return data.reportTransfer;
  }

  /** Reports many copies in one call; each answer says what became of its report (in the order given). */
  async reportTransfers(reports: Array<{ id: string; lease: string; outcome: TransferReport }>): Promise<TransferReportAnswer[]> {
    const data = await this.client.request<{ reportTransfers: TransferReportAnswer[] }>(
      `mutation AgentReportTransfers ($reports: [TransferReportInput!]!) { reportTransfers(reports: $reports) { id request { state errorCode } error { code message } } }`,
      { reports },
    );
    return data.reportTransfers;
  }

  async claimDeletions(limit: number): Promise<ClaimedDeletion[]> {
    const data = await this.client.request<{ claimDeletions: ClaimedDeletion[] }>(
      `mutation AgentClaimDeletions ($facility: String!, $limit: Int!) { claimDeletions(facility: $facility, limit: $limit) { id lease path bytes removal file { scope name } rse { ${RSE_FIELDS} } } }`,
      { facility: this.facility, limit },
    );
    return data.claimDeletions;
  }

  async reportDeletion(id: string, lease: string, ok: boolean, error?: string): Promise<void> {
    await this.client.request(`mutation AgentReportDeletion ($id: String!, $lease: String!, $outcome: DeletionOutcomeInput!) { reportDeletion(id: $id, lease: $lease, outcome: $outcome) }`, {
      id,
      lease,
      outcome: { ok, error: error ?? null },
    });
  }

  /** Tells the agent's own facility what arrived, for its Butler registry (ingest on arrival). */
  async recordArrivals(arrivals: Arrival[]): Promise<Array<{ scope: string; name: string; state: string; error: { code: string; message: string } | null }>> {
    const data = await this.client.request<{ recordArrivals: Array<{ scope: string; name: string; state: string; error: { code: string; message: string } | null }> | null }>(
      `mutation AgentRecordArrivals ($facility: String, $arrivals: [ArrivalInput!]!) { recordArrivals(facility: $facility, arrivals: $arrivals) { scope name state error { code message } } }`,
      { facility: this.facility, arrivals },
    );
    return data.recordArrivals ?? [];
  }

  /** Tells the agent's own facility which files it deleted: their Butler datasets go too (and, for a removal, the runs they empty). */
  async recordDepartures(files: Departure[]): Promise<{ files: number; datasetsRemoved: number; removals: RemovalTotals[] }> {
    const data = await this.client.request<{ recordDepartures: { files: number; datasetsRemoved: number; removals: RemovalTotals[] } | null }>(
      `mutation AgentRecordDepartures ($facility: String, $files: [DepartureInput!]!) { recordDepartures(facility: $facility, files: $files) {
         files datasetsRemoved removals { removal datasetsRemoved runsRemoved collectionsRemoved } } }`,
      { facility: this.facility, files },
    );
    return data.recordDepartures ?? { files: 0, datasetsRemoved: 0, removals: [] };
  }

  /** Removals whose part at this facility waits for the agent (all deleted; the Butler side to finish). */
  async removalWork(): Promise<RemovalWorkItem[]> {
    const data = await this.client.request<{ removalWork: RemovalWorkItem[] }>(`query AgentRemovalWork ($facility: String!) { removalWork(facility: $facility) { id runs collections } }`, {
      facility: this.facility,
    });
    return data.removalWork;
  }

  /** One page of the files a removal deleted at this facility. */
  async removalDeletedFiles(removal: string, after: string | null, first = 10_000): Promise<{ files: Departure[]; endCursor: string | null; hasNextPage: boolean }> {
    const data = await this.client.request<{ removal: { files: { nodes: Array<{ scope: string; name: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null }>(
      `query AgentRemovalDeletedFiles ($id: String!, $facility: String!, $first: Int, $after: String) { removal(id: $id) {
         files(facility: $facility, state: DELETED, first: $first, after: $after) { nodes { scope name } pageInfo { hasNextPage endCursor } } } }`,
      { id: removal, facility: this.facility, first, after },
    );
    const files = data.removal?.files;
    return { files: (files?.nodes ?? []).map((f) => ({ ...f, removal })), endCursor: files?.pageInfo.endCursor ?? null, hasNextPage: files?.pageInfo.hasNextPage ?? false };
  }

  /** The facility removes the named runs and collections its deletions left empty; returns its totals for the removal. */
  async finishRemoval(item: RemovalWorkItem): Promise<RemovalTotals> {
    const data = await this.client.request<{ finishRemoval: RemovalTotals | null }>(
      `mutation AgentFinishRemoval ($facility: String, $removal: String!, $runs: [String!]!, $collections: [String!]!) {
         finishRemoval(facility: $facility, removal: $removal, runs: $runs, collections: $collections) { removal datasetsRemoved runsRemoved collectionsRemoved } }`,
      { facility: this.facility, removal: item.id, runs: item.runs, collections: item.collections },
    );
    if (!data.finishRemoval) throw new Error(`facility ${this.facility} did not finish removal ${item.id}`);
    return data.finishRemoval;
  }

  /** Tells the catalog what the facility's registry removed for a removal; `finished` ends the facility's part. */
  async reportRemovalProgress(totals: RemovalTotals, finished: boolean): Promise<void> {
    await this.client.request(
      `mutation AgentReportRemovalProgress ($removal: String!, $facility: String!, $progress: RemovalProgressInput!) { reportRemovalProgress(removal: $removal, facility: $facility, progress: $progress) { id } }`,
      {
        removal: totals.removal,
        facility: this.facility,
        progress: { datasetsRemoved: totals.datasetsRemoved, collectionsRemoved: totals.runsRemoved + totals.collectionsRemoved, finished },
      },
    );
  }

  async reportStatus(status: Record<string, unknown>): Promise<void> {
    await this.client.request(`mutation AgentReportStatus ($facility: String!, $status: AgentStatusInput!) { reportAgentStatus(facility: $facility, status: $status) { id } }`, {
      facility: this.facility,
      status,
    });
  }
}
