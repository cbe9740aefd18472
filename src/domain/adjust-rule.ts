/**
 * The adjust rule (the case's bonus route): adjusting a model multiplies its stored mean by
 * this factor (a 10% raise of a positive mean; a negative one falls); its std and n stay.
 *
 * This constant is the rule's one home. It is applied where the model is stored, not in
 * memory: AdjustWeightsUseCase passes it to WeightsRepository.scaleMean, and each adapter
 * multiplies in the statement that reads the mean (`SET mean = mean * factor`), so
 * concurrent adjusts all count. A mean that would overflow is refused there
 * (UnrepresentableWeightsError), leaving the model as it was.
 */
export const ADJUST_MEAN_FACTOR = 1.1;
