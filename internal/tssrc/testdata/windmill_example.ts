#!/usr/bin/env bun
import * as wmill from "windmill-client@1";
import { S3Object } from "windmill-client";
import dayjs from "dayjs";

type Slack = {
  token: string;
};

// Options accepted by the report.
interface Options {
  verbose: boolean;
}

const helper = (a: number): number => a * 2;

/**
 * Sends a daily report.
 */
export async function main(
  slack: Slack,
  channel: string = "#general",
  since: Date,
  limit = 100,
  dryRun?: boolean,
  level: "info" | "warn" | "error" = "info",
  recipients: Array<Email> = [],
  options: Options | undefined,
  file: S3Object,
) {
  const client = await wmill.getResource("f/slack");
  return { sent: !dryRun, at: dayjs().toISOString() };
}
