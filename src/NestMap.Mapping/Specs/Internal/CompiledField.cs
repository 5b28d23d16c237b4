using NestMap.Mapping.Expressions;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>A field with its compiled expression or template.</summary>
internal sealed record CompiledField(FieldSpec Spec, CompiledExpression? Expression, CompiledTemplate? Template);

/// <summary>A compatibility step with its compiled transforms.</summary>
internal sealed record CompiledStep(int From, List<(CompatibilityTransform Transform, CompiledExpression Expression)> Transforms);
