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
  const visible = new Map<string, number>();
  const declared = new Set<string>();
  const firstUse = new Map<string, FreeVariable>();
  // A script that asks `typeof X` knows X may be missing and guards its other uses of X.
  const typeofTested = new Set<string>();

  function inScope(names: string[], body: () => void): void {
    for (const name of names) {
      visible.set(name, (visible.get(name) ?? 0) + 1);
      declared.add(name);
    }
    body();
    for (const name of names) {
      const count = visible.get(name)! - 1;
      if (count === 0) visible.delete(name);
      else visible.set(name, count);
    }
  }

  function use(identifier: AnyNode, assigned: boolean): void {
    const name = identifier.name as string;
    if (visible.has(name) || defined.has(name) || firstUse.has(name)) return;
    firstUse.set(name, { name, start: identifier.start, assigned });
  }

  // ---- declarations ------------------------------------------------------------------------------

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

  // ---- uses --------------------------------------------------------------------------------------

  /**
   * Walks a pattern: each name it binds or assigns goes to `name`, and its defaults, computed keys
   * and member targets to `expression`.
   */
  function pattern(node: AnyNode | null, name: (identifier: AnyNode) => void, expression: (node: AnyNode) => void = walk): void {
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

  /** A declared pattern: its names are in scope already. */
  const declaredPattern = (node: AnyNode | null) => pattern(node, () => {});
  /** The left side of an assignment (or of a for-in/of without a declaration). */
  const assignTarget = (node: AnyNode | null) => pattern(node, (identifier) => use(identifier, true));

  /**
   * A statement list's scope. The script itself and every function body (`hoisting`) also hold
   * the var and function declarations of the blocks inside them.
   */
  function statementScope(statements: AnyNode[], hoisting: boolean): void {
    const names: string[] = [];
    if (hoisting) for (const statement of statements) hoistedNames(statement, names);
    lexicalNames(statements, names);
    inScope(names, () => {
      for (const statement of statements) walk(statement);
    });
  }

  function func(node: AnyNode): void {
    const names: string[] = [];
    // A function expression's own name is visible only inside it; a declaration's is hoisted.
    if (node.type === 'FunctionExpression' && node.id) names.push(node.id.name);
    for (const param of node.params) bindingNames(param, names);
    inScope(names, () => {
      for (const param of node.params) declaredPattern(param);
      if (node.body.type === 'BlockStatement') statementScope(node.body.body, true);
      else walk(node.body);
    });
  }

  function klass(node: AnyNode): void {
    if (node.superClass) walk(node.superClass);
    inScope(node.id ? [node.id.name] : [], () => {
      for (const member of node.body.body) walk(member);
    });
  }

  function walk(node: AnyNode | null | undefined): void {
    if (!node) return;
    switch (node.type) {
      case 'Identifier':
        use(node, false);
        return;
      case 'VariableDeclaration':
        for (const declarator of node.declarations) {
          declaredPattern(declarator.id);
          walk(declarator.init);
        }
        return;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        func(node);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        klass(node);
        return;
      case 'BlockStatement':
        statementScope(node.body, false);
        return;
      case 'StaticBlock':
        statementScope(node.body, true);
        return;
      case 'ForStatement': {
        const names: string[] = [];
        if (node.init?.type === 'VariableDeclaration' && node.init.kind !== 'var') lexicalNames([node.init], names);
        inScope(names, () => {
          walk(node.init);
          walk(node.test);
          walk(node.update);
          walk(node.body);
        });
        return;
      }
      case 'ForInStatement':
      case 'ForOfStatement': {
        const declaration = node.left.type === 'VariableDeclaration';
        const names: string[] = [];
        if (declaration && node.left.kind !== 'var') lexicalNames([node.left], names);
        inScope(names, () => {
          if (declaration) walk(node.left);
          else assignTarget(node.left);
          walk(node.right);
          walk(node.body);
        });
        return;
      }
      case 'CatchClause': {
        const names: string[] = [];
        bindingNames(node.param, names);
        inScope(names, () => {
          declaredPattern(node.param);
          walk(node.body);
        });
        return;
      }
      case 'SwitchStatement': {
        walk(node.discriminant);
        const names: string[] = [];
        for (const switchCase of node.cases) lexicalNames(switchCase.consequent, names);
        inScope(names, () => {
          for (const switchCase of node.cases) {
            walk(switchCase.test);
            for (const statement of switchCase.consequent) walk(statement);
          }
        });
        return;
      }
      case 'AssignmentExpression':
        assignTarget(node.left);
        walk(node.right);
        return;
      case 'UpdateExpression':
        assignTarget(node.argument);
        return;
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') typeofTested.add(node.argument.name);
        else walk(node.argument);
        return;
      case 'MemberExpression':
        walk(node.object);
        if (node.computed) walk(node.property);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        // A key is a name only when computed; a shorthand `{ x }` has `x` as its value too.
        if (node.computed) walk(node.key);
        walk(node.value);
        return;
      case 'LabeledStatement':
        walk(node.body);
        return;
      case 'ExportNamedDeclaration':
        walk(node.declaration);
        return;
      // Labels, `import.meta`/`new.target`, private names and module syntax name no variable
      // (module syntax other than `export const meta` is refused before this runs).
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'PrivateIdentifier':
      case 'ImportDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        return;
      default:
        for (const key in node) {
          if (key === 'loc') continue;
          const value = node[key];
          if (Array.isArray(value)) {
            for (const child of value) if (child && typeof child.type === 'string') walk(child);
          } else if (value && typeof value === 'object' && typeof value.type === 'string') {
            walk(value);
          }
        }
    }
  }

  statementScope(program.body as AnyNode[], true);
  const free = [...firstUse.values()].filter(({ name }) => !typeofTested.has(name)).sort((a, b) => a.start - b.start);
  return { free, declared };
}
