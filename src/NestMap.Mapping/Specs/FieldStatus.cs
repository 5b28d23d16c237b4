namespace NestMap.Mapping.Specs;

/// <summary>What happened to one output field in one mapping.</summary>
public enum FieldStatus
{
    /// <summary>The expression gave a value (possibly JSON <c>null</c>), which was written.</summary>
    Ok,

    /// <summary>The expression found no value and the field has no default: the field was left out.</summary>
    NoData,

    /// <summary>The expression found no value and the field's default was written.</summary>
    Defaulted,

    /// <summary>The field failed: its expression raised an error, or it is required and had no value.</summary>
    Error,
}
