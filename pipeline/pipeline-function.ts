import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { assumeRolePolicy, type PolicyDocument } from './policies';

export interface PipelineFunctionArgs<E, R> {
  /** Physical function name (also the log group's name). */
  functionName: string;
  description: string;
  /** Runs once per cold start and returns the handler; serialized into the archive by Pulumi. */
  callbackFactory: () => (event: E) => Promise<R>;
  /** The function's whole permission set, given the log group ARN it may write to. */
  policy: (logGroupArn: pulumi.Output<string>) => PolicyDocument;
  memoryMb: number;
  /** Ephemeral storage (/tmp) in MB; Lambda's default of 512 when absent. */
  tmpMb?: number;
  timeoutSeconds: number;
  /** Environment variables of the function's process; none when absent. */
  environment?: Readonly<Record<string, string>>;
  logRetentionDays: number;
  /** Topic told when an asynchronous invocation fails (the original's `failure-lambda`). */
  failureTopicArn: pulumi.Input<string>;
  /**
   * Packages of `dependencies` this function never loads. The Node.js 24 runtime ships the AWS
   * SDK v3, so the SDK is always left out; the archive then holds only the serialized handler
   * and the few libraries it requires.
   */
  excludePackages: string[];
}

export const SDK_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/client-sns', '@aws-sdk/client-ssm', '@aws-sdk/client-glue'];

/**
 * A Lambda built from a handler closure, with the pieces CallbackFunction leaves to chance made
 * explicit: its own least-privilege role (without one, CallbackFunction attaches FullAccess
 * policies), a log group with retention and JSON format created before the function, runtime,
 * architecture, memory and timeout, and zero-retry async invocations reporting to a topic.
 */
export class PipelineFunction<E, R> {
  readonly function: aws.lambda.CallbackFunction<E, R>;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly policy: aws.iam.RolePolicy;

  constructor(name: string, args: PipelineFunctionArgs<E, R>, parent: pulumi.Resource) {
    const opts = { parent };
    this.role = new aws.iam.Role(name, { assumeRolePolicy: JSON.stringify(assumeRolePolicy('lambda.amazonaws.com')), description: `Role of ${args.functionName}` }, opts);
    this.logGroup = new aws.cloudwatch.LogGroup(name, { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.logRetentionDays }, opts);
    this.policy = new aws.iam.RolePolicy(name, { role: this.role.id, policy: pulumi.jsonStringify(args.policy(this.logGroup.arn)) }, opts);
    this.function = new aws.lambda.CallbackFunction<E, R>(
      name,
      {
        name: args.functionName,
        description: args.description,
        callbackFactory: args.callbackFactory,
        role: this.role,
        runtime: aws.lambda.Runtime.NodeJS24dX,
        architectures: ['arm64'],
        memorySize: args.memoryMb,
        ...(args.tmpMb !== undefined && { ephemeralStorage: { size: args.tmpMb } }),
        timeout: args.timeoutSeconds,
        ...(args.environment && { environment: { variables: { ...args.environment } } }),
        loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name, applicationLogLevel: 'INFO', systemLogLevel: 'WARN' },
        codePathOptions: { extraExcludePackages: [...SDK_PACKAGES, ...args.excludePackages] },
      },
      { parent, dependsOn: [this.policy, this.logGroup] },
    );
    new aws.lambda.FunctionEventInvokeConfig(
      name,
      {
        functionName: this.function.name,
        maximumRetryAttempts: 0,
        destinationConfig: { onFailure: { destination: args.failureTopicArn } },
      },
      opts,
    );
  }
}
