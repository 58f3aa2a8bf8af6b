import type { HandlerDeps, Notifier, ParameterReader } from './ports';
import { sdkGlueCalls } from '../lake/catalog';
import { createLogger } from '../log';

/**
 * SNS caps subjects at 100 ASCII characters without line breaks; a longer one makes Publish fail,
 * and a failed alert must never be the reason an alert is lost.
 */
export function snsSubject(subject: string): string {
  return subject.replace(/[^\x20-\x7e]/g, ' ').slice(0, 100);
}

/** Parameters from SSM; SecureStrings are decrypted, and GetParameters takes at most 10 names a call. */
export function ssmParameterReader(ssm: import('@aws-sdk/client-ssm').SSMClient): ParameterReader {
  const { GetParametersCommand } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
  return {
    async get(names) {
      const values = new Map<string, string>();
      for (let i = 0; i < names.length; i += 10) {
        const out = await ssm.send(new GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: true }));
        for (const p of out.Parameters ?? []) {
          if (p.Name && p.Value && p.Value.trim() !== '') values.set(p.Name, p.Value);
        }
      }
      return values;
    },
  };
}

export function snsNotifier(sns: () => import('@aws-sdk/client-sns').SNSClient): Notifier {
  return {
    async publish(topicArn, subject, message) {
      const { PublishCommand } = require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns');
      await sns().send(new PublishCommand({ TopicArn: topicArn, Subject: snsSubject(subject), Message: message }));
    },
  };
}

/** `make()` on the first call, its value after. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * The AWS side of a handler, built once per cold start (the callbackFactory runs once) so that
 * connections are reused across invocations. Region and credentials come from the Lambda
 * environment. The SNS and Glue clients are made, and their modules loaded, on first use: an
 * alert is rare, and a cold start that loads no module it does not call is shorter (the bronze
 * archive's import: 174 -> 131-134 ms in the bench; Glue is still loaded for the catalog later).
 */
export function awsHandlerDeps(functionName: string, layer: string): HandlerDeps {
  const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
  const { SSMClient } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? functionName;
  return {
    s3: new S3Client({}),
    parameters: ssmParameterReader(new SSMClient({})),
    notifier: snsNotifier(once(() => new (require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNSClient({}))),
    log: createLogger({ function: name, layer }),
    functionName: name,
    ...(layer === 'bronze' && { glue: sdkGlueCalls(once(() => new (require('@aws-sdk/client-glue') as typeof import('@aws-sdk/client-glue')).GlueClient({}))) }),
  };
}
