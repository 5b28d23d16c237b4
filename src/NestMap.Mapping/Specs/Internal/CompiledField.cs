using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>A field with its compiled template, or the index of its expression in the mapping's expression set (-1 for a template).</summary>
internal sealed record CompiledField(FieldSpec Spec, int Member, CompiledTemplate? Template);

/// <summary>A compatibility step with its compiled transforms.</summary>
internal sealed record CompiledStep(int From, List<(CompatibilityTransform Transform, CompiledExpression Expression)> Transforms);
