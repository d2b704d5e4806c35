import * as wmill from "windmill-client";

type Postgresql = { host: string; port: number };

export async function main(
  pg: Resource<'postgresql'>,
  slack: Resource<"slack">,
  gh: wmill.Resource<"github">,
  bare: Resource,
  db: PostgresDb,
  bucket: S3Bucket,
  client: HTTPClient,
  qualified: wmill.PostgresDb,
  choice: DynSelect_foo,
) {}
