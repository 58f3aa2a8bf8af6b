import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { PipelineConfig } from './config';
import { silverDatabaseName } from './handler-options';
import { hardenedBucket } from './hardened-bucket';
import { NAMED_QUERIES } from './named-queries';

export interface CatalogArgs {
  config: PipelineConfig;
  /** Stack name: the database and workgroup are the stack's own, so stacks can share an account. */
  stack: string;
}

/** `wordpress_lakehouse_<stack>`: Athena database names are lowercase letters, digits and `_`. */
export function catalogDatabaseName(stack: string): string {
  return `wordpress_lakehouse_${stack.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 255);
}

/**
 * The query side of the lake: a Glue Data Catalog database whose tables the bronze function
 * registers after each merge (no crawler), and an Athena workgroup (engine v3, settings enforced,
 * a bytes-scanned cutoff per query, CloudWatch metrics) writing its results to a hardened bucket
 * of its own that forgets them after `athenaResultsExpirationDays`, with example named queries.
 */
export class Catalog extends pulumi.ComponentResource {
  public readonly database: aws.glue.CatalogDatabase;
  public readonly workgroup: aws.athena.Workgroup;
  public readonly resultsBucket: aws.s3.Bucket;
  /** ARNs the bronze function's Glue statement is scoped to: the catalog, the database, its tables. */
  public readonly glueArns: { catalog: pulumi.Output<string>; database: pulumi.Output<string>; tables: pulumi.Output<string> };

  constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:Catalog', name, {}, opts);
    const { config, stack } = args;
    const databaseName = catalogDatabaseName(stack);
    this.database = new aws.glue.CatalogDatabase(
      `${name}-database`,
      { name: databaseName, description: `WordPress lakehouse bronze tables of stack ${stack}, registered by data_wordpressapi_bronze-${stack}` },
      { parent: this },
    );
    // arn:aws:glue:<region>:<account>:database/<name>; the catalog and table ARNs share its prefix.
    const prefix = this.database.arn.apply((arn) => arn.slice(0, arn.lastIndexOf(':database/')));
    this.glueArns = {
      catalog: pulumi.interpolate`${prefix}:catalog`,
      database: this.database.arn,
      tables: pulumi.interpolate`${prefix}:table/${databaseName}/*`,
    };

    this.resultsBucket = hardenedBucket(`${name}-results`, { noncurrentVersionDays: 1, expireObjectsDays: config.athenaResultsExpirationDays }, this);
    this.workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: `wordpress-lakehouse-${stack}`,
        description: `Queries over the WordPress lakehouse of stack ${stack}`,
        forceDestroy: true,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoffMb * 1024 * 1024,
          engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${this.resultsBucket.bucket}/results/`,
            // SSE-S3 needs no key of its own (Athena's SSE_KMS must name one); the bucket is private
            // and TLS-only like the lake's.
            encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          },
        },
      },
      { parent: this },
    );
    for (const query of NAMED_QUERIES) {
      new aws.athena.NamedQuery(
        `${name}-${query.name}`,
        // The silver database is SilverLayer's; a named query only names it, so Catalog need not wait for it.
        { name: query.name, description: query.description, database: query.layer === 'silver' ? silverDatabaseName(databaseName) : this.database.name, workgroup: this.workgroup.name, query: query.sql },
        { parent: this },
      );
    }
    this.registerOutputs({ databaseName: this.database.name, workgroupName: this.workgroup.name, resultsBucketName: this.resultsBucket.bucket });
  }
}
