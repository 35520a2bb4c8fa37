/**
 * Consent forms already answered. Each consent page carries a sealed request with its own id;
 * recording the answer under that id is what makes the form single-use on every node.
 */
export interface ConsentFormRepo {
  /**
   * Records that form `formId` was answered, unless an answer is recorded already: true for the
   * first caller only, however many nodes answer at once (one INSERT against a primary key).
   * The record is kept until `keepUntil` (the form's own expiry), after which the form is refused anyway.
   */
  claim(formId: string, answeredAt: number, keepUntil: number): Promise<boolean>
  /** Deletes records kept until before `before`; returns how many. */
  purge(before: number): Promise<number>
}
