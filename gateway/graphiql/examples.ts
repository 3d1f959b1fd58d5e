/**
 * The saved example queries GraphiQL opens with (one tab each) and lists in its "Examples" panel.
 * Plain data, no imports: the browser bundle and the Node side both use it.
 */
export interface ExampleQuery {
  /** Shown in the Examples panel; the tab title is the operation name. */
  title: string;
  description: string;
  query: string;
  /** JSON text for the variables editor. */
  variables?: string;
}

export const EXAMPLE_QUERIES: ExampleQuery[] = [
  {
    title: "Where is a file, and is it ingested?",
    description:
      "The replicas of a DID at every facility with their state, the facility's Butler dataset for each (null where it is not ingested), and the rules on it.",
    query: `# Where are the replicas of a DID, and is each one ingested?
# butlerDataset is the dataset in the Butler registry of the
# replica's facility (null where it is not ingested).
#
# Reads need no token. Mutations do: in the Headers tab below put
#   {"Authorization": "Bearer <token>"}
# (npx dbb token --subject you --scope catalog:write).
query WhereIsMyFile($scope: String!, $name: String!) {
  did(scope: $scope, name: $name) {
    replicas {
      rse { name facility { code } }
      state
      bytes
      butlerDataset { id datasetType run dataId }
    }
    rules { id state }
  }
}
`,
    variables: `{
  "scope": "raw",
  "name": "LSSTCam/raw/20250601/MC_O_20250601_000002/MC_O_20250601_000002_R22_S01.fits"
}
`,
  },
  {
    title: "Datasets at a facility",
    description: "A facility's Butler datasets of one dataset type in some collections, selected with a daf_butler where expression.",
    query: `# Datasets in one facility's Butler registry, by dataset
# type and collections, selected with a daf_butler where.
query DatasetsAtUsdf {
  facility(code: "USDF") {
    datasets(
      datasetType: "raw"
      collections: ["LSSTCam/raw/all"]
      where: "instrument = 'LSSTCam' AND exposure.day_obs = 20250601"
      first: 20
    ) {
      totalCount
      edges { node { id run dataId } }
    }
  }
}
`,
  },
  {
    title: "Stuck rules",
    description: "Replication rules that gave up after the transfer attempt limit, with the last error.",
    query: `# Replication rules that are STUCK (a transfer failed too
# often), with the last error.
query StuckRules {
  rules(filter: { state: STUCK }) {
    totalCount
    nodes {
      id
      error
      did { scope name }
      rseExpression
    }
  }
}
`,
  },
  {
    title: "Transfers in flight",
    description: "Transfer requests an agent has claimed and is copying now, with the agent and its lease.",
    query: `# Transfers an agent has claimed and is copying now.
query TransfersInFlight {
  transfers(filter: { state: SUBMITTED }) {
    totalCount
    nodes {
      id
      file { name }
      source { name }
      destination { name facility { code } }
      claimedBy
      leaseExpiresAt
    }
  }
}
`,
  },
  {
    title: "Raws covering a sky position",
    description:
      "A spatial where: the raws at a facility whose visit region overlaps a circle on the sky (degrees), reached from exposures through visit_definition.",
    query: `# Raws whose visit footprint overlaps a small circle on the
# sky. POINT(ra, dec), BOX(ra, dec, width, height),
# POLYGON(ra1, dec1, ...) and REGION('CIRCLE ra dec r') work
# too (degrees).
query RawsCoveringPosition($position: JSONObject!) {
  facility(code: "USDF") {
    datasets(
      datasetType: "raw"
      collections: ["LSSTCam/raw/all"]
      where: "visit.region OVERLAPS CIRCLE(:ra, :dec, 0.5)"
      bind: $position
    ) {
      totalCount
      edges { node { run dataId } }
    }
  }
}
`,
    variables: `{
  "position": { "ra": 91.0, "dec": -23.0 }
}
`,
  },
  {
    title: "Large File Annex files",
    description:
      "Files the Summit's CSCs announced (largeFileObjectAvailable): the event as metadata, the object key kept at every copy, and whether each copy was ingested or kept as a plain object.",
    query: `# The Summit's Large File Annex: each file is named by its
# object key and keeps it wherever it is copied (path).
# ingest says what the destination's Butler made of it:
# INGESTED (e.g. an electrometer's photodiode readings) or
# NOT_A_DATASET (a plain object).
query LargeFileAnnex($csc: String!) {
  dids(scope: "lfa", metadata: { csc: $csc }) {
    nodes {
      name
      metadata
      replicas {
        rse { name }
        path
        ingest { state source datasetId }
      }
    }
  }
}
`,
    variables: `{
  "csc": "Electrometer"
}
`,
  },
];
