// Finds the names a workflow script uses without declaring them, as a linter's no-undef would:
// inside the sandbox each one is a ReferenceError, thrown only when that line runs, possibly
// after agents have already been paid for. Scopes follow the language: functions, blocks, `var`
// and function hoisting, classes, parameters with defaults and destructuring, catch parameters.
//
// One pass, linear in the size of the tree: every scope's declarations are collected when it is
// entered (hoisting), and a count per name of the scopes that declare it answers each lookup at
// once instead of a walk up a chain of scopes.

import type { Node, Program } from 'acorn';

export interface FreeVariable {
  name: string;
  /** offset of its first use */
  start: number;
  /** the first use assigns to it (`x = 1`), which creates no variable in strict code */
  assigned: boolean;
}

export interface FreeVariables {
  /** each undeclared name once, at its first use, in source order */
  free: FreeVariable[];
  /** every name the script declares somewhere, for "did you mean" */
  declared: ReadonlySet<string>;
}

// An AST node whose fields are read by name: the walker dispatches on `type` and knows the shape.
interface AnyNode extends Node {
  [field: string]: any;
}

/** `defined`: the names that exist without a declaration (the sandbox's globals). */
export function findFreeVariables(program: Program, defined: ReadonlySet<string>): FreeVariables {
  const scan = new ScopeScan(defined);
  scan.statementScope(program.body as AnyNode[], true);
  return scan.result();
}

// ---- declarations --------------------------------------------------------------------------------

/** The names a declaration's pattern binds (its expressions are walked later, in scope). */
function bindingNames(node: AnyNode | null, out: string[]): void {
  pattern(node, (identifier) => out.push(identifier.name), () => {});
}

/** let, const, using, class and function declarations directly in a statement list. */
function lexicalNames(statements: AnyNode[], out: string[]): void {
  for (const statement of statements) {
    const declaration: AnyNode | null = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (!declaration) continue;
    if (declaration.type === 'VariableDeclaration' && declaration.kind !== 'var') {
      for (const declarator of declaration.declarations) bindingNames(declarator.id, out);
    } else if ((declaration.type === 'ClassDeclaration' || declaration.type === 'FunctionDeclaration') && declaration.id) {
      out.push(declaration.id.name);
    }
  }
}

/**
 * `var` declarations anywhere in a function body outside nested functions, and function
 * declarations nested in blocks: the script runs in sloppy mode, where those are hoisted to the
 * function too. var can only stand in statements, so statements are all this looks through.
 */
function hoistedNames(statement: AnyNode | null | undefined, out: string[]): void {
  if (!statement) return;
  switch (statement.type) {
    case 'VariableDeclaration':
      if (statement.kind === 'var') for (const declarator of statement.declarations) bindingNames(declarator.id, out);
      return;
    case 'FunctionDeclaration':
      if (statement.id) out.push(statement.id.name);
      return;
    case 'ExportNamedDeclaration':
      hoistedNames(statement.declaration, out);
      return;
    case 'BlockStatement':
      for (const inner of statement.body) hoistedNames(inner, out);
      return;
    case 'IfStatement':
      hoistedNames(statement.consequent, out);
      hoistedNames(statement.alternate, out);
      return;
    case 'ForStatement':
      hoistedNames(statement.init, out);
      hoistedNames(statement.body, out);
      return;
    case 'ForInStatement':
    case 'ForOfStatement':
      hoistedNames(statement.left, out);
      hoistedNames(statement.body, out);
      return;
    case 'WhileStatement':
    case 'DoWhileStatement':
    case 'LabeledStatement':
      hoistedNames(statement.body, out);
      return;
    case 'TryStatement':
      hoistedNames(statement.block, out);
      hoistedNames(statement.handler?.body, out);
      hoistedNames(statement.finalizer, out);
      return;
    case 'SwitchStatement':
      for (const switchCase of statement.cases) for (const inner of switchCase.consequent) hoistedNames(inner, out);
  }
}

/**
 * Walks a pattern: each name it binds or assigns goes to `name`, and its defaults, computed keys
 * and member targets to `expression`.
 */
function pattern(node: AnyNode | null, name: (identifier: AnyNode) => void, expression: (node: AnyNode) => void): void {
  if (!node) return;
  switch (node.type) {
    case 'Identifier':
      name(node);
      return;
    case 'ObjectPattern':
      for (const property of node.properties) {
        if (property.type === 'RestElement') pattern(property.argument, name, expression);
        else {
          if (property.computed) expression(property.key);
          pattern(property.value, name, expression);
        }
      }
      return;
    case 'ArrayPattern':
      for (const element of node.elements) pattern(element, name, expression);
      return;
    case 'AssignmentPattern':
      pattern(node.left, name, expression);
      expression(node.right);
      return;
    case 'RestElement':
      pattern(node.argument, name, expression);
      return;
    default:
      expression(node);
  }
}

// Labels, `import.meta`/`new.target`, private names and module syntax name no variable
// (module syntax other than `export const meta` is refused before this runs).
const NAMES_NO_VARIABLE = new Set([
  'BreakStatement', 'ContinueStatement', 'MetaProperty', 'PrivateIdentifier',
  'ImportDeclaration', 'ExportDefaultDeclaration', 'ExportAllDeclaration',
]);

// ---- uses ----------------------------------------------------------------------------------------

/** One scan of a script: the scopes entered so far and the uses found in them. */
class ScopeScan {
  readonly #defined: ReadonlySet<string>;
  readonly #visible = new Map<string, number>();
  readonly #declared = new Set<string>();
  readonly #firstUse = new Map<string, FreeVariable>();
  // A script that asks `typeof X` knows X may be missing and guards its other uses of X.
  readonly #typeofTested = new Set<string>();

  constructor(defined: ReadonlySet<string>) {
    this.#defined = defined;
  }

  result(): FreeVariables {
    const free = [...this.#firstUse.values()].filter(({ name }) => !this.#typeofTested.has(name)).sort((a, b) => a.start - b.start);
    return { free, declared: this.#declared };
  }

  inScope(names: string[], body: () => void): void {
    for (const name of names) {
      this.#visible.set(name, (this.#visible.get(name) ?? 0) + 1);
      this.#declared.add(name);
    }
    body();
    for (const name of names) {
      const count = this.#visible.get(name)! - 1;
      if (count === 0) this.#visible.delete(name);
      else this.#visible.set(name, count);
    }
  }

  use(identifier: AnyNode, assigned: boolean): void {
    const name = identifier.name as string;
    if (this.#visible.has(name) || this.#defined.has(name) || this.#firstUse.has(name)) return;
    this.#firstUse.set(name, { name, start: identifier.start, assigned });
  }

  /** A declared pattern: its names are in scope already. */
  declaredPattern(node: AnyNode | null): void {
    pattern(node, () => {}, (inner) => this.walk(inner));
  }

  /** The left side of an assignment (or of a for-in/of without a declaration). */
  assignTarget(node: AnyNode | null): void {
    pattern(node, (identifier) => this.use(identifier, true), (inner) => this.walk(inner));
  }

  /**
   * A statement list's scope. The script itself and every function body (`hoisting`) also hold
   * the var and function declarations of the blocks inside them.
   */
  statementScope(statements: AnyNode[], hoisting: boolean): void {
    const names: string[] = [];
    if (hoisting) for (const statement of statements) hoistedNames(statement, names);
    lexicalNames(statements, names);
    this.inScope(names, () => {
      for (const statement of statements) this.walk(statement);
    });
  }

  walk(node: AnyNode | null | undefined): void {
    if (!node || NAMES_NO_VARIABLE.has(node.type)) return;
    switch (node.type) {
      case 'Identifier': return this.use(node, false);
      case 'VariableDeclaration': return this.variableDeclaration(node);
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': return this.func(node);
      case 'ClassDeclaration':
      case 'ClassExpression': return this.klass(node);
      case 'BlockStatement': return this.statementScope(node.body, false);
      case 'StaticBlock': return this.statementScope(node.body, true);
      case 'ForStatement': return this.forStatement(node);
      case 'ForInStatement':
      case 'ForOfStatement': return this.forInOf(node);
      case 'CatchClause': return this.catchClause(node);
      case 'SwitchStatement': return this.switchStatement(node);
      case 'AssignmentExpression':
        this.assignTarget(node.left);
        return this.walk(node.right);
      case 'UpdateExpression': return this.assignTarget(node.argument);
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') this.#typeofTested.add(node.argument.name);
        else this.walk(node.argument);
        return;
      case 'MemberExpression':
        this.walk(node.object);
        if (node.computed) this.walk(node.property);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        // A key is a name only when computed; a shorthand `{ x }` has `x` as its value too.
        if (node.computed) this.walk(node.key);
        return this.walk(node.value);
      case 'LabeledStatement': return this.walk(node.body);
      case 'ExportNamedDeclaration': return this.walk(node.declaration);
      default: return this.children(node);
    }
  }

  children(node: AnyNode): void {
    for (const key in node) {
      if (key === 'loc') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (const child of value) if (child && typeof child.type === 'string') this.walk(child);
      } else if (value && typeof value === 'object' && typeof value.type === 'string') {
        this.walk(value);
      }
    }
  }

  variableDeclaration(node: AnyNode): void {
    for (const declarator of node.declarations) {
      this.declaredPattern(declarator.id);
      this.walk(declarator.init);
    }
  }

  func(node: AnyNode): void {
    const names: string[] = [];
    // A function expression's own name is visible only inside it; a declaration's is hoisted.
    if (node.type === 'FunctionExpression' && node.id) names.push(node.id.name);
    for (const param of node.params) bindingNames(param, names);
    this.inScope(names, () => {
      for (const param of node.params) this.declaredPattern(param);
      if (node.body.type === 'BlockStatement') this.statementScope(node.body.body, true);
      else this.walk(node.body);
    });
  }

  klass(node: AnyNode): void {
    if (node.superClass) this.walk(node.superClass);
    this.inScope(node.id ? [node.id.name] : [], () => {
      for (const member of node.body.body) this.walk(member);
    });
  }

  forStatement(node: AnyNode): void {
    const names: string[] = [];
    if (node.init?.type === 'VariableDeclaration' && node.init.kind !== 'var') lexicalNames([node.init], names);
    this.inScope(names, () => {
      this.walk(node.init);
      this.walk(node.test);
      this.walk(node.update);
      this.walk(node.body);
    });
  }

  forInOf(node: AnyNode): void {
    const declaration = node.left.type === 'VariableDeclaration';
    const names: string[] = [];
    if (declaration && node.left.kind !== 'var') lexicalNames([node.left], names);
    this.inScope(names, () => {
      if (declaration) this.walk(node.left);
      else this.assignTarget(node.left);
      this.walk(node.right);
      this.walk(node.body);
    });
  }

  catchClause(node: AnyNode): void {
    const names: string[] = [];
    bindingNames(node.param, names);
    this.inScope(names, () => {
      this.declaredPattern(node.param);
      this.walk(node.body);
    });
  }

  switchStatement(node: AnyNode): void {
    this.walk(node.discriminant);
    const names: string[] = [];
    for (const switchCase of node.cases) lexicalNames(switchCase.consequent, names);
    this.inScope(names, () => {
      for (const switchCase of node.cases) {
        this.walk(switchCase.test);
        for (const statement of switchCase.consequent) this.walk(statement);
      }
    });
  }
}
