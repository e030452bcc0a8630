/**
 * Errors of the HTTP endpoints, with stable codes for logs and alerts.
 */
import { EcsIngressError } from '@ecs-ingress/types';

/** The port could not be bound (in use, no permission for a port below 1024, bad address). */
export class HttpListenError extends EcsIngressError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_HTTP_LISTEN_FAILED', message, options);
  }
}

/**
 * A status provider or the metrics registry threw while answering a request. The request gets a 500;
 * the server and the controller keep running.
 */
export class HttpHandlerError extends EcsIngressError {
  /** The route that failed, e.g. `/readyz`. */
  readonly route: string;

  constructor(route: string, options?: { cause?: unknown }) {
    super('ECS_INGRESS_HTTP_HANDLER_FAILED', `handler for ${route} failed`, options);
    this.route = route;
  }
}
