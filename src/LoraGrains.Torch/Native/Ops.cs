namespace LoraGrains.Torch.Native;

/// <summary>Operation codes of the shim's generic elementwise and reduction entry points.</summary>
internal enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Rsqrt, Sin, Cos, Abs, Sigmoid, Tanh, Relu, Silu, Gelu, GeluTanh, QuickGelu,
    Contiguous, Clone, Square, Floor, Round, LogicalNot, Reciprocal, IsFinite,
}

/// <summary>Binary operation codes (RSub/RDiv put the scalar or second tensor first).</summary>
internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, RSub, RDiv,
}

/// <summary>Reduction codes.</summary>
internal enum ReduceOp
{
    Sum, Mean, Amax, Amin, Var, Std,
}
